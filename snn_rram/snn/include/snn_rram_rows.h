// snn-rram: one time step of an event-based layer of sinh devices with one-step read pulses,
// driven by the rows that are read in it (C++ standalone).
//
// With grounded inactive rows every column is one node whose state depends only on its read
// conductance sum ga (snn_rram_column.h). The Brian2-generated form of the layer evaluates every
// column at every step; this kernel does the same arithmetic, but only where it can change
// anything, from the source's spikes of the previous step (the rows read in this step):
//   - no row read: every node is at 0 V, nothing to add;
//   - one row r: each column's ga is one synapse's conductance, so the column's neuron current,
//     power rates and energy increments are per-synapse constants of the run, evaluated from
//     the tables once, the first time row r is read alone, and then added as contiguous rows;
//   - two or more rows: the sums ga of the columns they reach are formed in the order of the
//     spikes (as Brian2's synapses would form them) and those columns evaluated from the tables.
// The results per step are the layer's neuron input currents I_in and, with energy, the
// columns' integrals Pg (= Φg) and En (neuron input energy) and the synapses' accumulators acc
// (+= d·dt of its column in each step it is read): the values the generated code computes.
// The layer is dense: input r reaches every neuron n through synapse r·N + n (snn_rram.snn.layers
// uses the kernel only then), so every step's work is a few contiguous row operations, plus, when
// two or more rows are read, one table evaluation per column.
#ifndef SNN_RRAM_ROWS_H
#define SNN_RRAM_ROWS_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "snn_rram_column.h"

#ifndef SNN_RRAM_MAX_SLOTS
#error "snn_rram_rows.h: SNN_RRAM_MAX_SLOTS is defined by snn_rram.snn.functions (MACROS)"
#endif

#if defined(__GNUC__)
#define SNN_RRAM_PREFETCH(p) __builtin_prefetch(p)
#else
#define SNN_RRAM_PREFETCH(p) ((void)0)
#endif

namespace snn_rram {

// The Brian2 arrays of one layer, passed at every step (the pointers may change between runs).
struct RowArrays {
    const int32_t* spikespace;  // source spikes of the last step; count at [n_source]
    int n_source, n_neurons, K;  // inputs, neurons, column slots per neuron
    long table_id[SNN_RRAM_MAX_SLOTS];
    const double* G[SNN_RRAM_MAX_SLOTS];  // per synapse r N + n and slot, S
    double* acc[SNN_RRAM_MAX_SLOTS];  // per synapse and slot, V^2 s (null: no energy)
    const double* gt[SNN_RRAM_MAX_SLOTS];  // per neuron and slot: column total, S
    const double* R[SNN_RRAM_MAX_SLOTS];  // neuron input resistance, ohm
    const double* gain[SNN_RRAM_MAX_SLOTS];  // readout gain
    double* Pg[SNN_RRAM_MAX_SLOTS];  // per neuron and slot, V^2 s
    double* En[SNN_RRAM_MAX_SLOTS];  // per neuron and slot, J
    double* I_in;  // per neuron, A
    double V, b, dt;
    double single_bytes;  // most memory for the single-row responses (more: rows are evaluated)
};

// Where the table of a column's first coarse interval is, for the common case of read sums in
// it: w = ga · inv_hf (= (ga · inv_h0) · nf exactly, nf being a power of two), fine interval
// floor(w) < nf, coefficients at coef[off + 12 floor(w)]; nf = 0 if it is not tabulated.
struct FirstInterval {
    double inv_hf;
    long long off, nf;
};

// Per-process state of one layer.
struct RowLayer {
    bool ready = false, precomputed = false;
    int N = 0, K = 0, stride = 0;
    TableSet* sets[SNN_RRAM_MAX_SLOTS];
    std::vector<FirstInterval> first;  // per slot and neuron (neuron fastest)
    std::vector<char> single_ready;  // per row
    // per row, `stride` blocks of N values: I, then (with energy) per slot d dt, pg dt, x i dt
    // of the row read alone
    std::vector<double> single;
    std::vector<double> step;  // the responses of this step (layout of `single`'s rows)
    std::vector<double> ga, i;  // per slot and neuron
    std::vector<long long> where;  // per slot and neuron: offset in coef, or -1
    std::vector<double> s;  // ... and the position in the fine interval
};

// Evaluate slot k of neuron n's column at ga from the tables (column_i(): current, and x, d,
// pg left in snn_rram_last).
static inline double column_at(const RowArrays& a, int k, int32_t n, double ga)
{
    return column_i(ga, a.gt[k][n], a.R[k][n], a.V, a.b, a.table_id[k], n);
}

SNN_RRAM_COLD static void prepare_rows(RowLayer& L, const RowArrays& a)
{
    const int N = a.n_neurons, K = a.K;
    L.N = N; L.K = K;
    const size_t NK = (size_t)N * K;
    L.stride = a.acc[0] != nullptr ? 1 + 3 * K : 1;
    const size_t n_single = (size_t)a.n_source * N * L.stride;
    L.precomputed = (double)n_single * sizeof(double) <= a.single_bytes;
    if (L.precomputed) {
        L.single_ready.assign(a.n_source, 0);
        L.single.assign(n_single, 0.0);
    }
    L.step.assign((size_t)N * L.stride, 0.0);
    L.ga.assign(NK, 0.0); L.i.assign(NK, 0.0);
    L.where.assign(NK, -1); L.s.assign(NK, 0.0);
    L.first.resize(NK);
    // every column's parameters, once per run (they are constant during it), and its first
    // coarse interval's table
    for (int k = 0; k < K; ++k) {
        TableSet& set = table_set(a.table_id[k]);
        L.sets[k] = &set;
        for (int32_t n = 0; n < N; ++n) column_at(a, k, n, 0.0);
        for (int32_t n = 0; n < N; ++n) {
            FirstInterval& f = L.first[(size_t)k * N + n];
            const long long e = set.entry[SNN_RRAM_TABLE_M0 * n];
            f.nf = (set.inv_h0[n] != 0.0 && (e & 31) >= 2) ? 1LL << ((e & 31) - 2) : 0;
            f.inv_hf = set.inv_h0[n] * (double)f.nf;
            f.off = 12 * (e >> 5);
        }
    }
    L.ready = true;
}

// The responses of the columns at the sums L.ga, from the tables, into `out` (`stride` blocks
// of N values): the neurons' input currents I, then with energy per slot d dt, pg dt and x i dt.
// Every column's coefficients are located first (their loads are then in flight together), with
// the arithmetic of column_i(); sums beyond the first coarse interval go through column_i().
static inline void respond(RowLayer& L, const RowArrays& a, double* out)
{
    const int N = L.N, K = L.K;
    for (size_t j = 0; j < (size_t)N * K; ++j) {
        const FirstInterval& f = L.first[j];
        const double w = L.ga[j] * f.inv_hf;
        const long long fine = (long long)w;
        L.where[j] = -1;
        if (fine < f.nf) {
            L.s[j] = w - (double)fine;
            L.where[j] = f.off + 12 * fine;
            const double* c = &L.sets[j / N]->coef[L.where[j]];
            SNN_RRAM_PREFETCH(c);
            SNN_RRAM_PREFETCH(c + 8);
        }
    }
    for (int k = 0; k < K; ++k) {
        const TableSet& set = *L.sets[k];
        double* q = out + (size_t)(1 + 3 * k) * N;
        for (int32_t n = 0; n < N; ++n) {
            const size_t j = (size_t)k * N + n;
            double i, x, d, pg;
            if (L.where[j] >= 0) {
                const double* c = &set.coef[L.where[j]];
                x = horner(c, L.s[j]);
                d = horner(c + 4, L.s[j]);
                pg = horner(c + 8, L.s[j]);
                i = x * set.inv_R[n];
            } else {
                i = column_at(a, k, n, L.ga[j]);
                x = snn_rram_last.x; d = snn_rram_last.d; pg = snn_rram_last.pg;
            }
            L.i[j] = i;
            if (L.stride == 1) continue;
            q[n] = d * a.dt;
            q[N + n] = pg * a.dt;
            q[2 * N + n] = x * i * a.dt;
        }
    }
    for (int32_t n = 0; n < N; ++n) {
        double I = a.gain[0][n] * L.i[n];
        for (int k = 1; k < K; ++k) I = I + a.gain[k][n] * L.i[(size_t)k * N + n];
        out[n] = I;
    }
}

// Add the responses `in` (layout of respond()) of the step's m rows `rows`.
static inline void add_responses(const RowLayer& L, const RowArrays& a, const double* in,
                                 const int32_t* rows, int32_t m)
{
    const int N = L.N, K = L.K;
    for (int32_t n = 0; n < N; ++n) a.I_in[n] += in[n];
    if (L.stride == 1) return;
    for (int k = 0; k < K; ++k) {
        const double* q = in + (size_t)(1 + 3 * k) * N;
        for (int32_t r = 0; r < m; ++r) {
            double* acc = a.acc[k] + (size_t)rows[r] * N;
            for (int32_t n = 0; n < N; ++n) acc[n] += q[n];
        }
        for (int32_t n = 0; n < N; ++n) a.Pg[k][n] += q[N + n];
        for (int32_t n = 0; n < N; ++n) a.En[k][n] += q[2 * N + n];
    }
}

// The column sums of m rows, in the order of the spikes.
static inline void sum_rows(RowLayer& L, const RowArrays& a, const int32_t* rows, int32_t m)
{
    const int N = L.N;
    for (int k = 0; k < L.K; ++k) {
        double* ga = &L.ga[(size_t)k * N];
        const double* G0 = a.G[k] + (size_t)rows[0] * N;
        for (int32_t n = 0; n < N; ++n) ga[n] = 0.0 + G0[n];
        for (int32_t q = 1; q < m; ++q) {
            const double* G = a.G[k] + (size_t)rows[q] * N;
            for (int32_t n = 0; n < N; ++n) ga[n] += G[n];
        }
    }
}

// One step; returns the number of rows read in it.
static inline double rows_step(RowLayer& L, const RowArrays& a)
{
    const int32_t m = a.spikespace[a.n_source];
    if (m == 0) return 0.0;
    if (!L.ready) prepare_rows(L, a);
    const int32_t* rows = a.spikespace;
    if (m > 1 || !L.precomputed) {
        sum_rows(L, a, rows, m);
        respond(L, a, L.step.data());
        add_responses(L, a, L.step.data(), rows, m);
        return (double)m;
    }
    // one row: its responses, evaluated the first time it is read alone
    const int32_t r = rows[0];
    double* single = &L.single[(size_t)r * L.N * L.stride];
    if (!L.single_ready[r]) {
        sum_rows(L, a, rows, 1);
        respond(L, a, single);
        L.single_ready[r] = 1;
    }
    add_responses(L, a, single, rows, 1);
    return 1.0;
}

}  // namespace snn_rram

#endif
