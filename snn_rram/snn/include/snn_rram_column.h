// snn-rram: the column solve of a passive RRAM array with sinh devices, grounded inactive rows.
//
// A column of total conductance gt, of which ga is read (rows at v_read) and gt - ga grounded,
// ends in a neuron input R. With f(u) = sinh(b u) / b its neuron current i solves
//     i = ga f(V - R i) - (gt - ga) f(R i).
// column_current() solves it exactly (safeguarded Newton). The tabulated solver keeps, per
// column, cubic Hermite tables over ga in [0, gt] of the column voltage x = R i and of the
// power rates d = p(V - x) - p(x) and pg = p(x) (p(u) = u f(u)), with exact slopes, refined
// until every interval's midpoint agrees with the exact solve to SNN_RRAM_TABLE_RTOL. A column
// whose ga did not change since its last evaluation returns its cached values.
//
// Used by the C++ standalone and Cython targets; snn_rram/snn/tables.py is its numpy twin.
#ifndef SNN_RRAM_COLUMN_H
#define SNN_RRAM_COLUMN_H

#include <cmath>
#include <memory>
#include <vector>

#define SNN_RRAM_MAX_ITER 100
#define SNN_RRAM_RTOL 4e-16
#define SNN_RRAM_TABLE_RTOL 1e-12
#define SNN_RRAM_TABLE_M0 16
#define SNN_RRAM_TABLE_MMAX 65536

namespace snn_rram {

// Exact neuron current of a column (the numpy twin is snn_rram.snn.functions).
static inline double column_current(double ga, double gg, double R, double V, double b)
{
    if (ga <= 0.0) return 0.0;
    double hi = ga * std::sinh(b * V) / b;
    if (R <= 0.0) return hi;
    double lo = 0.0;
    double i = V * ga / (1.0 + R * (ga + gg));
    for (int it = 0; it < SNN_RRAM_MAX_ITER; ++it) {
        const double x = R * i;
        const double ua = b * (V - x), ug = b * x;
        const double h = (ga * std::sinh(ua) - gg * std::sinh(ug)) / b - i;
        if (h == 0.0) return i;
        if (h > 0.0) lo = i; else hi = i;
        const double dh = -R * (ga * std::cosh(ua) + gg * std::cosh(ug)) - 1.0;
        const double step = -h / dh;
        double i_new = i + step;
        if (std::fabs(step) <= SNN_RRAM_RTOL * std::fabs(i)) return i_new;
        if (i_new < lo || i_new > hi) i_new = 0.5 * (lo + hi);
        i = i_new;
    }
    return i;
}

// Exact values and slopes (with respect to ga) of x, d and pg: out[0..5] = x, x', d, d', pg, pg'.
static inline void column_point(double ga, double gt, double R, double V, double b, double* out)
{
    const double i = column_current(ga, gt - ga, R, V, b);
    const double x = R * i, u = V - x;
    const double fa = std::sinh(b * u) / b, fg = std::sinh(b * x) / b;
    const double dfa = std::cosh(b * u), dfg = std::cosh(b * x);
    // implicit function: h(i, ga) = ga f(V - R i) - (gt - ga) f(R i) - i = 0
    const double dh_dga = fa + fg;
    const double dh_di = -R * (ga * dfa + (gt - ga) * dfg) - 1.0;
    const double dx = -R * dh_dga / dh_di;
    const double pa = u * fa, pg = x * fg;
    const double dpa = -(fa + u * dfa) * dx, dpg = (fg + x * dfg) * dx;
    out[0] = x; out[1] = dx; out[2] = pa - pg; out[3] = dpa - dpg; out[4] = pg; out[5] = dpg;
}

static inline double hermite(const double* k0, const double* k1, int q, double s, double h)
{
    const double s2 = s * s, s3 = s2 * s;
    return (2 * s3 - 3 * s2 + 1) * k0[q] + (s3 - 2 * s2 + s) * h * k0[q + 1]
         + (-2 * s3 + 3 * s2) * k1[q] + (s3 - s2) * h * k1[q + 1];
}

struct Column {
    double gt = -1.0, R = -1.0, V = -1.0, b = -1.0;
    int M = 0;
    double h = 0.0, inv_h = 0.0, pV = 0.0;  // interval, its inverse, p(V) = V f(V)
    std::vector<double> tab;  // (M + 1) knots x 6 values
    double last_ga = -1.0, i = 0.0, x = 0.0, d = 0.0, pg = 0.0;
};

static inline bool build_table(Column& c)
{
    for (int M = SNN_RRAM_TABLE_M0; M <= SNN_RRAM_TABLE_MMAX; M *= 2) {
        const double h = c.gt / M;
        c.tab.assign(6 * (M + 1), 0.0);
        for (int k = 0; k <= M; ++k)
            column_point(k == M ? c.gt : k * h, c.gt, c.R, c.V, c.b, &c.tab[6 * k]);
        double scale[3] = {0.0, 0.0, 0.0};
        for (int k = 0; k <= M; ++k)
            for (int q = 0; q < 3; ++q)
                scale[q] = std::fmax(scale[q], std::fabs(c.tab[6 * k + 2 * q]));
        bool ok = true;
        double mid[6];
        for (int k = 0; k < M && ok; ++k) {
            column_point((k + 0.5) * h, c.gt, c.R, c.V, c.b, mid);
            for (int q = 0; q < 3 && ok; ++q) {
                const double got = hermite(&c.tab[6 * k], &c.tab[6 * (k + 1)], 2 * q, 0.5, h);
                ok = std::fabs(got - mid[2 * q]) <= SNN_RRAM_TABLE_RTOL * scale[q];
            }
        }
        c.M = M;
        c.h = h;
        c.inv_h = M / c.gt;
        if (ok) return true;
    }
    return false;  // keeps the finest table; the caller falls back to exact solves
}

struct TableSet {
    std::vector<Column> cols;
    std::vector<char> exact;  // columns whose table could not reach the tolerance
};

// The table set of `id` (small positive integers handed out by snn_rram.snn.layers).
static inline TableSet& table_set(long id)
{
    static std::vector<std::unique_ptr<TableSet>> sets;
    if ((long)sets.size() <= id) sets.resize(id + 1);
    if (!sets[id]) sets[id].reset(new TableSet());
    return *sets[id];
}

// Results of the last column_i() call, read by the accessors that follow it in the same update.
struct Last {
    double x = 0.0, d = 0.0, pg = 0.0;
};
static inline Last& last()
{
    static Last l;
    return l;
}

// Neuron current of column `col` of table set `id` at ga, from its table; its voltage x and
// rates d, pg are cached per column and exposed to the accessors below.
static inline double column_i(double ga, double gt, double R, double V, double b, long id,
                              int col)
{
    TableSet& set = table_set(id);
    if ((int)set.cols.size() <= col) {
        set.cols.resize(col + 1);
        set.exact.resize(col + 1, 0);
    }
    Column& c = set.cols[col];
    if (c.gt != gt || c.R != R || c.V != V || c.b != b) {
        c.gt = gt; c.R = R; c.V = V; c.b = b;
        c.last_ga = -1.0;
        c.pV = V * std::sinh(b * V) / b;
        set.exact[col] = (gt > 0.0 && R > 0.0) ? !build_table(c) : 0;
    }
    Last& out = last();
    if (ga == c.last_ga) {
        out.x = c.x; out.d = c.d; out.pg = c.pg;
        return c.i;
    }
    c.last_ga = ga;
    if (R <= 0.0 || ga <= 0.0 || gt <= 0.0) {  // the column node stays at 0 V
        c.x = 0.0;
        c.i = (R <= 0.0 && ga > 0.0) ? ga * std::sinh(b * V) / b : 0.0;
        c.d = c.pV;
        c.pg = 0.0;
        out.x = c.x; out.d = c.d; out.pg = c.pg;
        return c.i;
    }
    if (set.exact[col]) {
        double p[6];
        column_point(ga, gt, R, V, b, p);
        c.x = p[0]; c.d = p[2]; c.pg = p[4];
    } else {
        const double u = ga * c.inv_h;
        int k = (int)u;
        if (k >= c.M) k = c.M - 1;
        const double s = u - k;
        const double* k0 = &c.tab[6 * k];
        const double* k1 = k0 + 6;
        c.x = hermite(k0, k1, 0, s, c.h);
        c.d = hermite(k0, k1, 2, s, c.h);
        c.pg = hermite(k0, k1, 4, s, c.h);
    }
    c.i = c.x / R;
    out.x = c.x; out.d = c.d; out.pg = c.pg;
    return c.i;
}

// Accessors of the column just evaluated (the arguments name it, for the numpy twin).
static inline double column_x(long, int) { return last().x; }
static inline double column_d(long, int) { return last().d; }
static inline double column_pg(long, int) { return last().pg; }

}  // namespace snn_rram

#endif
