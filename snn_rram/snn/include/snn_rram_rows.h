// snn-rram: one time step of an event-based layer of sinh devices with one-step read pulses,
// driven by the rows that are read in it (C++ standalone).
//
// With grounded inactive rows every column is one node whose state depends only on its read
// conductance sum ga = gb + gs (snn_rram_column.h): gb the always-on (bias) rows' sum, constant
// during a run, gs the sum of the rows read in the step. The Brian2-generated form of the layer
// evaluates every column at every step; this kernel does the same arithmetic, but only where it
// can change anything, from the source's spikes of the previous step (the rows read in it):
//   - no row read: every column sits at its idle point ga = gb. Without bias rows its node is at
//     0 V and there is nothing to add; with them its neuron current and power rates are
//     constants of the run, evaluated once: the neurons' currents stay at the idle values, and
//     the idle energy rates are added for all the steps of a run at its last step;
//   - one row r: each column it reaches has ga = gb + G of one synapse, so the column's neuron
//     current and energy increments (relative to the idle point's) are per-synapse constants of
//     the run, evaluated from the tables once, the first time row r is read alone: the
//     currents are set, and the energy increments added once per row at a run's last step,
//     times the number of steps it was read alone in (with many rows, most steps read one);
//   - two or more rows: the sums gs of the columns they reach are formed in the order of the
//     spikes (as Brian2's synapses would form them) and those columns evaluated from the tables.
//     In a sparse layout, a column that only one of the step's rows reaches has that row's
//     single-row response; its energy is deferred like that of a row read alone, counted per
//     synapse (with many rows per step, most of a row's columns are such columns, and adding
//     their energies at every step cost more than evaluating the others).
// The kernel owns the layer's neuron input currents I_in (the update integrates them and leaves
// them): it sets those of the columns a step reaches to their values, and puts them back to the
// idle values the next step. With energy it integrates the columns' Pg (= Φg), D (= Φa − Φg,
// with bias rows only: the always-on rows' energy needs it) and En (neuron input energy), and
// the synapses' accumulators acc (+= d·dt of its column in each step it is read): the values
// the generated code computes (the energies up to rounding: idle steps and a row's steps read
// alone are added as products).
//
// Two layouts of the synapses (snn_rram.snn.layers picks the kernel for either):
//   - dense: input r reaches every neuron n through synapse r·N + n; a read row reaches every
//     column (no index arrays, contiguous loops);
//   - sparse (unrolled convolutions, pooling): the synapses of an input are contiguous (Brian2's
//     _synaptic_pre is sorted); a read row touches only the columns it reaches.
// Columns shared by several neurons are not part of the kernel: they stay a small generated group
// of their own whose currents reach the neurons as I_shared.
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
    const int32_t* pre;  // per synapse: its input (sorted), null for the dense layout
    const int32_t* post;  // per synapse: its neuron, null for the dense layout
    size_t n_syn;  // synapses
    long table_id[SNN_RRAM_MAX_SLOTS];
    const double* G[SNN_RRAM_MAX_SLOTS];  // per synapse and slot, S
    double* acc[SNN_RRAM_MAX_SLOTS];  // per synapse and slot, V^2 s (null: no energy)
    const double* gt[SNN_RRAM_MAX_SLOTS];  // per neuron and slot: column total, S
    const double* gb[SNN_RRAM_MAX_SLOTS];  // per neuron and slot: always-on rows' sum, S
    const double* R[SNN_RRAM_MAX_SLOTS];  // neuron input resistance, ohm
    const double* gain[SNN_RRAM_MAX_SLOTS];  // readout gain
    double* Pg[SNN_RRAM_MAX_SLOTS];  // per neuron and slot, V^2 s
    double* D[SNN_RRAM_MAX_SLOTS];  // per neuron and slot, V^2 s
    double* En[SNN_RRAM_MAX_SLOTS];  // per neuron and slot, J
    double* I_in;  // per neuron, A
    double V, b, dt;
    bool last;  // the run's last step: the idle energy is added
    double single_bytes;  // most memory for the single-row responses (more: rows are evaluated)
};

// The coarse interval of a column's idle point ga = gb, where most read sums fall: u = ga inv_h0
// in [c, c + 1) and its table built (nf > 0 fine intervals, coefficients from coef[off]).
struct IdleInterval {
    double inv_h0;
    long long c, off, nf;
};

// Per-process state of one layer.
struct RowLayer {
    bool ready = false, precomputed = false, energy = false, bias = false, sparse = false;
    int N = 0, K = 0, stride = 0;
    long long idle_steps = 0;  // steps whose idle energy is still to be added
    TableSet* sets[SNN_RRAM_MAX_SLOTS];
    std::vector<IdleInterval> home;  // per slot and neuron (neuron fastest)
    std::vector<size_t> ptr;  // sparse: synapses of input r are ptr[r] ... ptr[r + 1] - 1
    std::vector<char> single_ready;  // per row
    std::vector<int32_t> alone;  // per row: steps it was read alone whose energy is deferred
    // sparse, per synapse: steps of several rows in which its column was reached by its row
    // alone (the column then has the row's single-row response), energy deferred
    std::vector<int32_t> alone_syn;
    std::vector<char> listed;  // per row: in alone_rows
    std::vector<int32_t> alone_rows;  // ... the rows with deferred energy
    // per synapse (dense: per row and neuron), `stride` values in blocks of the row's synapses:
    // I, then with energy per slot d dt, and pg dt and x i dt less the idle point's, of the row
    // read alone
    std::vector<double> single;
    std::vector<double> step;  // the responses of this step (the same layout)
    std::vector<double> idle;  // per neuron: I, then per slot d dt, pg dt, x i dt at ga = gb
    std::vector<double> ga;  // per slot and neuron: read rows' sum gs
    std::vector<int32_t> pos, touched;  // sparse: per neuron its place in `touched`, or -1
    std::vector<int32_t> reach;  // sparse: per place in `touched`, the rows reaching it ...
    std::vector<int32_t> multi, mpos;  // ... the neurons reached by several, and their places
    std::vector<int32_t> set_last;  // sparse: neurons whose I_in the last step set
    int32_t n_set_last = 0;  // ... their number (dense: N or 0)
    std::vector<double> i, s;  // per slot and evaluated column
    std::vector<long long> where;  // ... and the offset of its coefficients in coef, or -1
};

// Evaluate slot k of neuron n's column at ga from the tables (column_i(): current, and x, d,
// pg left in snn_rram_last).
static inline double column_at(const RowArrays& a, int k, int32_t n, double ga)
{
    return column_i(ga, a.gt[k][n], a.R[k][n], a.V, a.b, a.table_id[k], n);
}

// The responses of the columns of the nt neurons `idx` (null: neurons 0 ... nt - 1) at their
// sums gb + L.ga, into `out` (`stride` blocks of nt values): the neurons' input currents I, then
// with energy per slot d dt, pg dt and x i dt, the last two less the idle point's (L.idle).
// Every column's coefficients are located first (their loads are then in flight together), with
// the arithmetic of column_i(); columns whose interval is not tabulated go through column_i().
static inline void respond(RowLayer& L, const RowArrays& a, const int32_t* idx, int32_t nt,
                           double* out)
{
    const int N = L.N, K = L.K;
    for (int k = 0; k < K; ++k) {
        const TableSet& set = *L.sets[k];
        const double* gb = a.gb[k];
        const double* gs = &L.ga[(size_t)k * N];
        const IdleInterval* home = &L.home[(size_t)k * N];
        for (int32_t p = 0; p < nt; ++p) {
            const int32_t n = idx ? idx[p] : p;
            const size_t j = (size_t)k * nt + p;
            const double ga = L.bias ? gb[n] + gs[n] : gs[n];  // gb = 0: gb + gs = gs
            L.where[j] = -1;
            L.s[j] = ga;  // for column_i()
            const IdleInterval& h = home[n];
            const double u = ga * h.inv_h0;
            const long long c0 = (long long)u;
            if (c0 == h.c && h.nf > 0) {  // column_i()'s arithmetic, for its idle interval
                const double w = (u - (double)c0) * (double)h.nf;
                long long f = (long long)w;
                f = f > h.nf - 1 ? h.nf - 1 : f;
                L.s[j] = w - (double)f;
                L.where[j] = h.off + 12 * f;
                const double* q = &set.coef[L.where[j]];
                SNN_RRAM_PREFETCH(q);
                SNN_RRAM_PREFETCH(q + 8);
                continue;
            }
            const double inv_h0 = set.inv_h0[n];
            if (inv_h0 == 0.0) continue;
            const double v = ga * inv_h0;  // (u is 0 where the idle interval is not known yet)
            int c = (int)v;
            c = c < 0 ? 0 : (c > SNN_RRAM_TABLE_M0 - 1 ? SNN_RRAM_TABLE_M0 - 1 : c);
            const long long e = set.entry[(size_t)SNN_RRAM_TABLE_M0 * n + c];
            const int state = (int)(e & 31);
            if (state < 2) continue;
            const long long nf = 1LL << (state - 2);
            const double w = (v - c) * (double)nf;
            long long f = (long long)w;
            f = f < 0 ? 0 : (f > nf - 1 ? nf - 1 : f);
            L.s[j] = w - (double)f;
            L.where[j] = 12 * ((e >> 5) + f);
            const double* q = &set.coef[L.where[j]];
            SNN_RRAM_PREFETCH(q);
            SNN_RRAM_PREFETCH(q + 8);
        }
    }
    const double* idle = L.idle.data();
    for (int k = 0; k < K; ++k) {
        const TableSet& set = *L.sets[k];
        double* q = out + (size_t)(1 + 3 * k) * nt;
        const double* q0 = idle + (size_t)(1 + 3 * k) * N;
        for (int32_t p = 0; p < nt; ++p) {
            const int32_t n = idx ? idx[p] : p;
            const size_t j = (size_t)k * nt + p;
            double i, x, d, pg;
            if (L.where[j] >= 0) {
                const double* c = &set.coef[L.where[j]];
                x = horner(c, L.s[j]);
                d = horner(c + 4, L.s[j]);
                pg = horner(c + 8, L.s[j]);
                i = x * set.inv_R[n];
            } else {
                i = column_at(a, k, n, L.s[j]);
                x = snn_rram_last.x; d = snn_rram_last.d; pg = snn_rram_last.pg;
            }
            L.i[j] = i;
            if (!L.energy) continue;
            q[p] = d * a.dt;
            const double pg_dt = pg * a.dt, xi_dt = x * i * a.dt;
            if (L.bias) {  // relative to the idle point (zero without bias rows; when the idle
                           // point itself is evaluated, `out` is L.idle, still zero)
                q[nt + p] = pg_dt - q0[N + n];
                q[2 * nt + p] = xi_dt - q0[2 * N + n];
            } else {
                q[nt + p] = pg_dt;
                q[2 * nt + p] = xi_dt;
            }
        }
    }
    for (int32_t p = 0; p < nt; ++p) {
        const int32_t n = idx ? idx[p] : p;
        double I = a.gain[0][n] * L.i[p];
        for (int k = 1; k < K; ++k) I = I + a.gain[k][n] * L.i[(size_t)k * nt + p];
        out[p] = I;
    }
}

SNN_RRAM_COLD static void prepare_rows(RowLayer& L, const RowArrays& a)
{
    const int N = a.n_neurons, K = a.K;
    L.N = N; L.K = K;
    L.energy = a.acc[0] != nullptr;
    L.sparse = a.pre != nullptr;
    L.stride = L.energy ? 1 + 3 * K : 1;
    const size_t NK = (size_t)N * K;
    const size_t n_syn = L.sparse ? a.n_syn : (size_t)a.n_source * N;
    const size_t n_single = n_syn * L.stride;
    L.precomputed = (double)n_single * sizeof(double) <= a.single_bytes;
    if (L.precomputed) {
        L.single_ready.assign(a.n_source, 0);
        L.single.assign(n_single, 0.0);
        L.alone.assign(a.n_source, 0);
        L.alone_syn.assign(L.sparse && L.energy ? a.n_syn : 0, 0);
        L.listed.assign(a.n_source, 0);
        L.alone_rows.clear();
    }
    if (L.sparse) {  // the synapses of each input, from the sorted _synaptic_pre
        L.ptr.assign((size_t)a.n_source + 1, 0);
        for (size_t s = 0; s < a.n_syn; ++s) ++L.ptr[(size_t)a.pre[s] + 1];
        for (int r = 0; r < a.n_source; ++r) L.ptr[r + 1] += L.ptr[r];
        L.pos.assign(N, -1);
        L.touched.assign(N, 0);
        L.reach.assign(N, 0);
        L.multi.assign(N, 0);
        L.mpos.assign(N, 0);
    }
    L.step.assign((size_t)N * L.stride, 0.0);
    L.ga.assign(NK, 0.0); L.i.assign(NK, 0.0);
    L.where.assign(NK, -1); L.s.assign(NK, 0.0);
    L.idle.assign((size_t)N * (1 + 3 * K), 0.0);
    // every column's parameters, once per run (they are constant during it)
    L.bias = false;
    for (int k = 0; k < K; ++k) {
        L.sets[k] = &table_set(a.table_id[k]);
        for (int32_t n = 0; n < N; ++n) {
            column_at(a, k, n, 0.0);
            L.bias = L.bias || a.gb[k][n] != 0.0;
        }
    }
    L.home.assign(NK, IdleInterval{0.0, -1, 0, 0});  // none yet: the generic lookup
    // the idle point (all zero without bias rows: the nodes are at 0 V)
    if (L.bias) {
        const bool energy = L.energy;
        L.energy = true;  // the idle point's power rates too
        respond(L, a, nullptr, N, L.idle.data());
        L.energy = energy;
    }
    // each column's idle interval (its table was built by the evaluations above)
    for (int k = 0; k < K; ++k) {
        const TableSet& set = *L.sets[k];
        for (int32_t n = 0; n < N; ++n) {
            IdleInterval& h = L.home[(size_t)k * N + n];
            h.inv_h0 = set.inv_h0[n];
            h.c = -1; h.off = 0; h.nf = 0;
            if (h.inv_h0 == 0.0) continue;
            const double u = a.gb[k][n] * h.inv_h0;
            long long c = (long long)u;
            if (c > SNN_RRAM_TABLE_M0 - 1) continue;
            const long long e = set.entry[(size_t)SNN_RRAM_TABLE_M0 * n + c];
            if ((e & 31) < 2) continue;
            h.c = c;
            h.nf = 1LL << ((e & 31) - 2);
            h.off = 12 * (e >> 5);
        }
    }
    for (int32_t n = 0; n < N; ++n) a.I_in[n] = L.idle[n];
    if (L.sparse) L.set_last.assign(N, 0);
    L.n_set_last = 0;
    L.idle_steps = 0;
    L.ready = true;
}

// Put the neuron currents the last step set back to the idle point's.
static inline void unset_last(RowLayer& L, const RowArrays& a)
{
    if (L.n_set_last == 0) return;
    const double* I0 = L.idle.data();
    if (L.sparse) {
        for (int32_t p = 0; p < L.n_set_last; ++p) a.I_in[L.set_last[p]] = I0[L.set_last[p]];
    } else {
        for (int32_t n = 0; n < L.N; ++n) a.I_in[n] = I0[n];
    }
    L.n_set_last = 0;
}

// At a run's last step: the idle point's energy for all its steps (bias rows only).
SNN_RRAM_COLD static void add_idle_energy(RowLayer& L, const RowArrays& a)
{
    const int N = L.N;
    const double steps = (double)L.idle_steps;
    for (int k = 0; k < L.K; ++k) {
        const double* r = L.idle.data() + (size_t)(1 + 3 * k) * N;
        for (int32_t n = 0; n < N; ++n) a.D[k][n] += steps * r[n];
        for (int32_t n = 0; n < N; ++n) a.Pg[k][n] += steps * r[N + n];
        for (int32_t n = 0; n < N; ++n) a.En[k][n] += steps * r[2 * N + n];
    }
    L.idle_steps = 0;
}

// Dense layout: the sums of the m rows `rows` in every column, in the order of the spikes.
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

// Set the input currents of the nt columns of the neurons `idx` (null: all) to the responses
// `in` (layout of respond()); they go back to the idle point's at the next step.
static inline void set_currents(RowLayer& L, const RowArrays& a, const double* in,
                                const int32_t* idx, int32_t nt)
{
    if (idx) {
        for (int32_t p = 0; p < nt; ++p) a.I_in[idx[p]] = in[p];
        for (int32_t p = 0; p < nt; ++p) L.set_last[p] = idx[p];
    } else {
        for (int32_t n = 0; n < L.N; ++n) a.I_in[n] = in[n];
    }
    L.n_set_last = nt;
}

// Add `times` times (Each: times + more[p] times, for column p) the energy increments of the
// responses `in` (layout of respond()) of the nt columns of the neurons `idx` (null: all) to the
// columns' integrals, and with `acc` (per slot k: acc[k] + first, nt values) to those
// accumulators.
template <bool Each = false>
static inline void add_energy(RowLayer& L, const RowArrays& a, const double* in,
                              const int32_t* idx, int32_t nt, size_t first, bool acc,
                              double times, const int32_t* more = nullptr)
{
    const int N = L.N;
    auto t = [&](int32_t p) { return Each ? times + (double)more[p] : times; };
    for (int k = 0; k < L.K; ++k) {
        const double* q = in + (size_t)(1 + 3 * k) * nt;
        const double* d0 = L.idle.data() + (size_t)(1 + 3 * k) * N;
        double* D = a.D[k];
        double* Pg = a.Pg[k];
        double* En = a.En[k];
        if (acc) {
            double* ac = a.acc[k] + first;
            for (int32_t p = 0; p < nt; ++p) ac[p] += t(p) * q[p];
        }
        if (idx) {
            if (L.bias)
                for (int32_t p = 0; p < nt; ++p) D[idx[p]] += t(p) * (q[p] - d0[idx[p]]);
            for (int32_t p = 0; p < nt; ++p) Pg[idx[p]] += t(p) * q[nt + p];
            for (int32_t p = 0; p < nt; ++p) En[idx[p]] += t(p) * q[2 * nt + p];
            continue;
        }
        if (L.bias)
            for (int32_t n = 0; n < N; ++n) D[n] += t(n) * (q[n] - d0[n]);
        for (int32_t n = 0; n < N; ++n) Pg[n] += t(n) * q[N + n];
        for (int32_t n = 0; n < N; ++n) En[n] += t(n) * q[2 * N + n];
    }
}

// Row r has deferred energy (alone_energy() adds it).
static inline void defer_row(RowLayer& L, int32_t r)
{
    if (!L.listed[r]) {
        L.listed[r] = 1;
        L.alone_rows.push_back(r);
    }
}

// A row read alone: its energy is deferred (alone_energy() adds it for all such steps at once).
static inline void read_alone(RowLayer& L, int32_t r)
{
    ++L.alone[r];
    defer_row(L, r);
}

// The energy of the steps in which rows were read alone, and (sparse) of the steps in which a
// row alone reached some of its columns: the single-row responses, times the number of those
// steps (at a run's last step; with energy and single-row responses only).
SNN_RRAM_COLD static void alone_energy(RowLayer& L, const RowArrays& a)
{
    for (const int32_t r : L.alone_rows) {
        const size_t s0 = L.sparse ? L.ptr[r] : (size_t)r * L.N;
        const int32_t nt = L.sparse ? (int32_t)(L.ptr[r + 1] - s0) : L.N;
        const double* single = &L.single[s0 * L.stride];
        if (L.sparse) {
            int32_t* more = &L.alone_syn[s0];
            add_energy<true>(L, a, single, a.post + s0, nt, s0, true, (double)L.alone[r], more);
            for (int32_t p = 0; p < nt; ++p) more[p] = 0;
        } else {
            add_energy(L, a, single, nullptr, nt, s0, true, (double)L.alone[r]);
        }
        L.alone[r] = 0;
        L.listed[r] = 0;
    }
    L.alone_rows.clear();
}

static inline void dense_step(RowLayer& L, const RowArrays& a, const int32_t* rows, int32_t m)
{
    if (m > 1 || !L.precomputed) {
        sum_rows(L, a, rows, m);
        respond(L, a, nullptr, L.N, L.step.data());
        set_currents(L, a, L.step.data(), nullptr, L.N);
        if (!L.energy) return;
        add_energy(L, a, L.step.data(), nullptr, L.N, 0, false, 1.0);
        for (int32_t q = 0; q < m; ++q) {  // every read row's accumulators
            for (int k = 0; k < L.K; ++k) {
                const double* d = L.step.data() + (size_t)(1 + 3 * k) * L.N;
                double* acc = a.acc[k] + (size_t)rows[q] * L.N;
                for (int32_t n = 0; n < L.N; ++n) acc[n] += d[n];
            }
        }
        return;
    }
    // one row: its responses, evaluated the first time it is read alone
    const int32_t r = rows[0];
    double* single = &L.single[(size_t)r * L.N * L.stride];
    if (!L.single_ready[r]) {
        sum_rows(L, a, rows, 1);
        respond(L, a, nullptr, L.N, single);
        L.single_ready[r] = 1;
    }
    set_currents(L, a, single, nullptr, L.N);
    if (L.energy) read_alone(L, r);
}

// Sparse layout, one row r: its responses (evaluated the first time it is read alone).
static inline const double* single_row(RowLayer& L, const RowArrays& a, int32_t r)
{
    const int N = L.N;
    const size_t s0 = L.ptr[r];
    const int32_t nt = (int32_t)(L.ptr[r + 1] - s0);
    double* single = &L.single[s0 * L.stride];
    if (!L.single_ready[r]) {
        const int32_t* idx = a.post + s0;
        for (int k = 0; k < L.K; ++k)
            for (int32_t p = 0; p < nt; ++p) L.ga[(size_t)k * N + idx[p]] = 0.0 + a.G[k][s0 + p];
        respond(L, a, idx, nt, single);
        L.single_ready[r] = 1;
    }
    return single;
}

// Sparse layout: the step's m rows. A column that only one of them reaches has that row's
// single-row response (the same sum, 0 + G, and the same arithmetic); the others are evaluated.
static inline void sparse_step(RowLayer& L, const RowArrays& a, const int32_t* rows, int32_t m)
{
    const int N = L.N, K = L.K;
    if (m == 1 && L.precomputed) {
        const int32_t r = rows[0];
        const size_t s0 = L.ptr[r];
        const int32_t nt = (int32_t)(L.ptr[r + 1] - s0);
        set_currents(L, a, single_row(L, a, r), a.post + s0, nt);
        if (L.energy) read_alone(L, r);
        return;
    }
    // the columns the rows reach, how many rows reach each, and their sums in spike order
    int32_t nt = 0;
    for (int32_t q = 0; q < m; ++q) {
        const int32_t r = rows[q];
        for (size_t s = L.ptr[r]; s < L.ptr[r + 1]; ++s) {
            const int32_t n = a.post[s];
            if (L.pos[n] < 0) {
                L.pos[n] = nt;
                L.reach[nt] = 1;
                L.touched[nt++] = n;
                for (int k = 0; k < K; ++k) L.ga[(size_t)k * N + n] = 0.0 + a.G[k][s];
            } else {
                ++L.reach[L.pos[n]];
                for (int k = 0; k < K; ++k) L.ga[(size_t)k * N + n] += a.G[k][s];
            }
        }
    }
    const int32_t* idx = L.touched.data();
    double* step = L.step.data();
    // the columns several rows reach (all without single-row responses), from the tables
    if (!L.precomputed)
        for (int32_t p = 0; p < nt; ++p) L.reach[p] = 2;
    int32_t nm = 0;
    for (int32_t p = 0; p < nt; ++p) {
        if (L.reach[p] < 2) continue;
        L.mpos[p] = nm;
        L.multi[nm++] = idx[p];
    }
    respond(L, a, L.multi.data(), nm, step);
    for (int32_t p = 0; p < nm; ++p) a.I_in[L.multi[p]] = step[p];
    if (L.energy) add_energy(L, a, step, L.multi.data(), nm, 0, false, 1.0);
    // every read synapse: of a column several rows reach, its accumulators; of a column one
    // row reaches, that row's single-row responses (current, energy, accumulators)
    for (int32_t u = 0; u < m; ++u) {
        const int32_t r = rows[u];
        const size_t s0 = L.ptr[r];
        const int32_t nr = (int32_t)(L.ptr[r + 1] - s0);
        const double* single = L.precomputed ? single_row(L, a, r) : nullptr;
        if (L.energy && L.precomputed) defer_row(L, r);
        for (int32_t j = 0; j < nr; ++j) {
            const size_t s = s0 + j;
            const int32_t n = a.post[s];
            const int32_t p = L.pos[n];
            if (L.reach[p] > 1) {
                if (!L.energy) continue;
                const int32_t mp = L.mpos[p];
                for (int k = 0; k < K; ++k) a.acc[k][s] += step[(size_t)(1 + 3 * k) * nm + mp];
                continue;
            }
            a.I_in[n] = single[j];
            if (L.energy) ++L.alone_syn[s];  // the row's single-row energy, deferred
        }
    }
    for (int32_t p = 0; p < nt; ++p) {  // every reached column's current goes back next step
        L.set_last[p] = idx[p];
        L.pos[idx[p]] = -1;
    }
    L.n_set_last = nt;
}

// One step; returns the number of rows read in it.
static inline double rows_step(RowLayer& L, const RowArrays& a)
{
    if (!L.ready) prepare_rows(L, a);
    unset_last(L, a);
    const int32_t m = a.spikespace[a.n_source];
    if (m > 0) {
        if (L.sparse)
            sparse_step(L, a, a.spikespace, m);
        else
            dense_step(L, a, a.spikespace, m);
    }
    if (L.bias && L.energy) {
        ++L.idle_steps;
        if (a.last) add_idle_energy(L, a);
    }
    if (a.last && L.energy && L.precomputed) alone_energy(L, a);
    return (double)m;
}

}  // namespace snn_rram

#endif
