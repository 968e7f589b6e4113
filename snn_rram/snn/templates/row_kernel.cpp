{# The row kernel's step function of one layer (Jinja2, rendered by
   snn_rram.snn.functions.set_rows_kernel): it names the layer's arrays in the standalone
   project and calls snn_rram::rows_step of include/snn_rram_rows.h. #}
static double {{ name }}(double dt)
{
    static_assert({{ slots | length }} <= SNN_RRAM_MAX_SLOTS, "column slots per neuron");
    static snn_rram::RowLayer layer;
    snn_rram::RowArrays a;
    a.spikespace = {{ spikespace }};
    a.n_source = {{ n_source }};
    a.n_neurons = {{ n_neurons }};
    a.K = {{ slots | length }};
{% if pre %}
    a.pre = {{ pre }}.data();
    a.post = {{ post }}.data();
    a.n_syn = {{ pre }}.size();
{% else %}
    a.pre = nullptr;
    a.post = nullptr;
    a.n_syn = 0;
{% endif %}
{% for s in slots %}
{% set k = loop.index0 %}
    a.table_id[{{ k }}] = {{ s.table_id }};
    a.G[{{ k }}] = {{ s.G }};
    a.acc[{{ k }}] = {{ s.acc }};
    a.gt[{{ k }}] = {{ s.gt }};
    a.gb[{{ k }}] = {{ s.gb }};
    a.R[{{ k }}] = {{ s.R }};
    a.gain[{{ k }}] = {{ s.gain }};
    a.Pg[{{ k }}] = {{ s.Pg }};
    a.D[{{ k }}] = {{ s.D }};
    a.En[{{ k }}] = {{ s.En }};
{% endfor %}
    a.I_in = {{ I_in }};
    a.V = {{ v_read }}[0];
    a.b = {{ b_dev }}[0];
    a.dt = dt;
    // the run's last step: the clock would not run the next one (its end step is private)
    Clock& clock = brian::{{ clock }};
    ++clock.timestep[0];
    a.last = !clock.running();
    --clock.timestep[0];
    a.single_bytes = {{ single_bytes }};
    return snn_rram::rows_step(layer, a);
}
