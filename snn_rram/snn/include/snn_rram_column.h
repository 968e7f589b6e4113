// snn-rram: the column solve of a passive RRAM array with sinh devices, grounded inactive rows.
//
// A column of total conductance gt, of which ga is read (rows at v_read) and gt - ga grounded,
// ends in a neuron input R. With f(u) = sinh(b u) / b its neuron current i solves
//     i = ga f(V - R i) - (gt - ga) f(R i).
// column_current() solves it exactly (safeguarded Newton). The tabulated solver keeps, per
// column, cubic Hermite tables over ga in [0, gt] of the column voltage x = R i and of the
// power rates d = p(V - x) - p(x) and pg = p(x) (p(u) = u f(u)), from exact values and slopes.
// [0, gt] is cut into SNN_RRAM_TABLE_M0 coarse intervals, each built when first read and
// refined on its own until every fine interval's midpoint agrees with the exact solve to
// SNN_RRAM_TABLE_RTOL of the quantity's largest value: a run only pays for the part of the
// range its activity reaches (a few rows of hundreds are active at once). The coefficients are
// stored in power form, 12 contiguous doubles per fine interval.
//
// Used by the C++ standalone and Cython targets (snn_rram.snn.functions names it in the Brian2
// functions); its numpy twins are snn_rram.crossbar.columns.separable_current (the exact solve,
// the same arithmetic) and snn_rram/snn/tables.py (the tables).
//
// The constants are Python's, defined by the compiler (snn_rram.snn.functions.MACROS): the Newton
// solve's SNN_RRAM_MAX_ITER and SNN_RRAM_RTOL are snn_rram.crossbar.columns.MAX_ITER and RTOL, the
// tables' SNN_RRAM_TABLE_RTOL, _M0 and _MMAX those of snn_rram.snn.tables.
#ifndef SNN_RRAM_COLUMN_H
#define SNN_RRAM_COLUMN_H

#include <cmath>
#include <vector>

#if !defined(SNN_RRAM_MAX_ITER) || !defined(SNN_RRAM_RTOL) || !defined(SNN_RRAM_TABLE_RTOL) \
    || !defined(SNN_RRAM_TABLE_M0) || !defined(SNN_RRAM_TABLE_MMAX)
#error "snn_rram_column.h: its constants are defined by snn_rram.snn.functions (MACROS)"
#endif

#if defined(__GNUC__)
#define SNN_RRAM_COLD __attribute__((noinline, cold))
#else
#define SNN_RRAM_COLD
#endif

namespace snn_rram {

// The device law per unit conductance, f(u) = sinh(b u) / b, and f'(u) (snn_rram.devices.Sinh).
static inline double sinh_f(double u, double b) { return std::sinh(b * u) / b; }
static inline double sinh_df(double u, double b) { return std::cosh(b * u); }

// Exact neuron current of a column: snn_rram.crossbar.columns.separable_current, operation by
// operation (safeguarded Newton on i in [0, ga f(V)] from the linear-device solution).
static inline double column_current(double ga, double gg, double R, double V, double b)
{
    if (ga <= 0.0) return 0.0;
    double hi = ga * sinh_f(V, b);
    if (R <= 0.0) return hi;
    double lo = 0.0;
    double i = V * ga / (1.0 + R * (ga + gg));
    for (int it = 0; it < SNN_RRAM_MAX_ITER; ++it) {
        const double x = R * i;
        const double va = V - x;
        const double h = ga * sinh_f(va, b) - gg * sinh_f(x, b) - i;
        if (h == 0.0) return i;
        if (h > 0.0) lo = i; else hi = i;
        const double dh = -R * (ga * sinh_df(va, b) + gg * sinh_df(x, b)) - 1.0;
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
    const double fa = sinh_f(u, b), fg = sinh_f(x, b);
    const double dfa = sinh_df(u, b), dfg = sinh_df(x, b);
    // implicit function: h(i, ga) = ga f(V - R i) - (gt - ga) f(R i) - i = 0
    const double dh_dga = fa + fg;
    const double dh_di = -R * (ga * dfa + (gt - ga) * dfg) - 1.0;
    const double dx = -R * dh_dga / dh_di;
    const double pa = u * fa, pg = x * fg;
    const double dpa = -(fa + u * dfa) * dx, dpg = (fg + x * dfg) * dx;
    out[0] = x; out[1] = dx; out[2] = pa - pg; out[3] = dpa - dpg; out[4] = pg; out[5] = dpg;
}

// Power-form coefficients of the cubic Hermite interpolant of the values and slopes p0, p1
// (column_point layout) on an interval of width h, for s in [0, 1]: out[4q..4q+3] for quantity q.
static inline void power_form(const double* p0, const double* p1, double h, double* out)
{
    for (int q = 0; q < 3; ++q) {
        const double y0 = p0[2 * q], m0 = p0[2 * q + 1], y1 = p1[2 * q], m1 = p1[2 * q + 1];
        out[4 * q] = y0;
        out[4 * q + 1] = h * m0;
        out[4 * q + 2] = 3.0 * (y1 - y0) - h * (2.0 * m0 + m1);
        out[4 * q + 3] = 2.0 * (y0 - y1) + h * (m0 + m1);
    }
}

static inline double horner(const double* a, double s)
{
    return a[0] + s * (a[1] + s * (a[2] + s * a[3]));
}

// The tables of one group's columns. Per column and coarse interval k of [0, gt], `entry`
// packs the first fine interval's index into `coef` (bits 5 and up) and a state (bits 0-4):
// 0 not built yet, 1 exact solves (the finest level is still too coarse), 2 + L built at
// refinement level L (2^L fine intervals). The data read at every step are kept compact.
struct TableSet {
    double V = -1.0, b = -1.0, fV = 0.0, pV = 0.0;  // read voltage, device constant, f(V), V f(V)
    int n = 0;  // columns
    std::vector<double> gt, R, inv_h0, inv_R;  // per column; inv_h0 = M0 / gt, 0 if trivial
    std::vector<double> scale;  // 3 per column: largest |x|, |d|, |pg| on [0, gt]
    std::vector<long long> entry;  // M0 per column
    std::vector<double> coef;  // 12 per fine interval: x, d, pg in power form
    size_t stale = 0;  // coefficients of tables dropped since coef was last cleared
};

// Table sets by id (small positive integers handed out by snn_rram.snn.layers).
static std::vector<TableSet*> snn_rram_table_sets;  // owned, for the process's lifetime

SNN_RRAM_COLD static TableSet& new_table_set(long id)
{
    if ((long)snn_rram_table_sets.size() <= id) snn_rram_table_sets.resize(id + 1);
    if (!snn_rram_table_sets[id]) snn_rram_table_sets[id] = new TableSet();
    return *snn_rram_table_sets[id];
}

static inline TableSet& table_set(long id)
{
    if (id < (long)snn_rram_table_sets.size() && snn_rram_table_sets[id])
        return *snn_rram_table_sets[id];
    return new_table_set(id);
}

// New parameters of column `col` (gt <= 0 or R <= 0: trivial, the node stays at 0 V).
SNN_RRAM_COLD static void reset_column(TableSet& set, int col, double gt, double R, double V,
                                       double b)
{
    if (set.n <= col) {
        set.n = col + 1;
        set.gt.resize(col + 1, -1.0);
        set.R.resize(col + 1, -1.0);
        set.inv_h0.resize(col + 1, 0.0);
        set.inv_R.resize(col + 1, 0.0);
        set.scale.resize(3 * (col + 1), 0.0);
        set.entry.resize(SNN_RRAM_TABLE_M0 * (col + 1), 0);
    }
    if (set.V != V || set.b != b) {  // every column's table depends on them
        set.V = V; set.b = b;
        set.fV = sinh_f(V, b);
        set.pV = V * set.fV;
        for (size_t c = 0; c < set.gt.size(); ++c) set.gt[c] = -1.0;  // rebuilt when next read
    }
    // drop the column's tables; once most of coef is dropped tables, clear it (every column's
    // tables are then rebuilt when next read), so that reruns with new values do not pile up
    for (int k = 0; k < SNN_RRAM_TABLE_M0; ++k) {
        const long long e = set.entry[SNN_RRAM_TABLE_M0 * col + k];
        if ((e & 31) >= 2) set.stale += 12 * ((size_t)1 << ((e & 31) - 2));
    }
    if (set.stale > 1024 && 2 * set.stale > set.coef.size()) {
        set.coef.clear();
        set.stale = 0;
        for (size_t i = 0; i < set.entry.size(); ++i) set.entry[i] = 0;
    }
    set.gt[col] = gt; set.R[col] = R;
    const bool trivial = !(R > 0.0 && gt > 0.0);
    set.inv_h0[col] = trivial ? 0.0 : SNN_RRAM_TABLE_M0 / gt;
    set.inv_R[col] = trivial ? 0.0 : 1.0 / R;
    for (int k = 0; k < SNN_RRAM_TABLE_M0; ++k) set.entry[SNN_RRAM_TABLE_M0 * col + k] = 0;
    if (trivial) return;
    // x, pg increase and d decreases with ga: the extremes are at the ends
    double p0[6], p1[6];
    column_point(0.0, gt, R, V, b, p0);
    column_point(gt, gt, R, V, b, p1);
    for (int q = 0; q < 3; ++q)
        set.scale[3 * col + q] = std::fmax(std::fabs(p0[2 * q]), std::fabs(p1[2 * q]));
}

// Build the table of coarse interval k of column `col`: refine it (1, 2, 4, ... fine
// intervals) until every fine interval's midpoint agrees with the exact solve to
// SNN_RRAM_TABLE_RTOL of the quantity's largest value. A level's midpoints are the next
// level's new knots.
SNN_RRAM_COLD static void build_interval(TableSet& set, int col, int k)
{
    const int M0 = SNN_RRAM_TABLE_M0;
    const double gt = set.gt[col], R = set.R[col], V = set.V, b = set.b;
    const double* scale = &set.scale[3 * col];
    long long& entry = set.entry[M0 * col + k];
    std::vector<double> P(12), mid, next;  // knots x 6 values
    for (int j = 0; j < 2; ++j) {
        const long long g = k + j;
        column_point(g == M0 ? gt : g * (gt / M0), gt, R, V, b, &P[6 * j]);
    }
    for (int L = 0; (M0 << L) <= SNN_RRAM_TABLE_MMAX; ++L) {
        const long long n = 1LL << L;
        const double h = gt / (double)(M0 << L);
        mid.assign(6 * n, 0.0);
        bool ok = true;
        double a[12];
        for (long long j = 0; j < n; ++j) {
            column_point(((double)(k * n + j) + 0.5) * h, gt, R, V, b, &mid[6 * j]);
            power_form(&P[6 * j], &P[6 * (j + 1)], h, a);
            for (int q = 0; q < 3; ++q)
                ok = ok && std::fabs(horner(a + 4 * q, 0.5) - mid[6 * j + 2 * q])
                               <= SNN_RRAM_TABLE_RTOL * scale[q];
        }
        if (ok) {
            const long long first = (long long)set.coef.size() / 12;
            set.coef.resize(set.coef.size() + 12 * n);
            for (long long j = 0; j < n; ++j)
                power_form(&P[6 * j], &P[6 * (j + 1)], h, &set.coef[12 * (first + j)]);
            entry = (first << 5) | (2 + L);
            return;
        }
        next.assign(6 * (2 * n + 1), 0.0);
        for (long long j = 0; j <= n; ++j) {
            for (int q = 0; q < 6; ++q) next[12 * j + q] = P[6 * j + q];
            if (j < n)
                for (int q = 0; q < 6; ++q) next[12 * j + 6 + q] = mid[6 * j + q];
        }
        P.swap(next);
    }
    entry = 1;
}

// Results of the last column_i() call, read by the accessors that follow it in the same update.
struct Last {
    double x = 0.0, d = 0.0, pg = 0.0;
};
static Last snn_rram_last;

// Neuron current of column `col` of table set `id` at ga; its voltage x and power rates d, pg
// are left for the accessors below.
static inline double column_i(double ga, double gt, double R, double V, double b, long id,
                              int col)
{
    TableSet& set = table_set(id);
    if (col >= set.n || set.gt[col] != gt || set.R[col] != R || set.V != V || set.b != b)
        reset_column(set, col, gt, R, V, b);
    Last& out = snn_rram_last;
    const double inv_h0 = set.inv_h0[col];
    if (inv_h0 == 0.0) {  // trivial column: its node stays at 0 V
        out.x = 0.0; out.d = set.pV; out.pg = 0.0;
        return (R <= 0.0 && ga > 0.0) ? ga * set.fV : 0.0;
    }
    const double u = ga * inv_h0;
    int k = (int)u;
    k = k < 0 ? 0 : (k > SNN_RRAM_TABLE_M0 - 1 ? SNN_RRAM_TABLE_M0 - 1 : k);
    long long e = set.entry[SNN_RRAM_TABLE_M0 * col + k];
    if (e == 0) {
        build_interval(set, col, k);
        e = set.entry[SNN_RRAM_TABLE_M0 * col + k];
    }
    const int state = (int)(e & 31);
    if (state == 1) {
        double p[6];
        column_point(ga, gt, R, V, b, p);
        out.x = p[0]; out.d = p[2]; out.pg = p[4];
        return p[0] * set.inv_R[col];
    }
    const long long n = 1LL << (state - 2);
    const double w = (u - k) * (double)n;
    long long j = (long long)w;
    j = j < 0 ? 0 : (j > n - 1 ? n - 1 : j);
    const double s = w - (double)j;
    const double* a = &set.coef[12 * ((e >> 5) + j)];
    out.x = horner(a, s);
    out.d = horner(a + 4, s);
    out.pg = horner(a + 8, s);
    return out.x * set.inv_R[col];
}

// Accessors of the column just evaluated (the arguments name it, for the numpy twin).
static inline double column_x(long, int) { return snn_rram_last.x; }
static inline double column_d(long, int) { return snn_rram_last.d; }
static inline double column_pg(long, int) { return snn_rram_last.pg; }

}  // namespace snn_rram

// The names of the Brian2 functions (snn_rram.snn.functions), for generated code and Cython.
static inline double snn_rram_column_current(double ga, double gg, double R, double V, double b)
{
    return snn_rram::column_current(ga, gg, R, V, b);
}
static inline double snn_rram_column_i(double ga, double gt, double R, double V, double b, long id,
                                       int col)
{
    return snn_rram::column_i(ga, gt, R, V, b, id, col);
}
static inline double snn_rram_column_x(long id, int col) { return snn_rram::column_x(id, col); }
static inline double snn_rram_column_d(long id, int col) { return snn_rram::column_d(id, col); }
static inline double snn_rram_column_pg(long id, int col) { return snn_rram::column_pg(id, col); }

#endif
