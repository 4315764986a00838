"""--precision=auto: the policy per machine, from fake CPU flags, environments, GPUs and
bf16 probe timings."""

import pytest

from tfgan_pipeline import precision, probe

AVX512 = {"fpu", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"}
AMX = AVX512 | {"avx512_bf16", "amx_bf16", "amx_tile", "amx_int8"}
BF16_ONLY = AVX512 | {"avx512_bf16"}


def bf16_twice_as_fast():
    return 0.5, 1.0


def never_probed():
    raise AssertionError("the bf16 probe ran where the flags or a GPU already decide")


def auto(flags, environ=None, gpus=(), bf16_probe=bf16_twice_as_fast):
    return precision.resolve_precision("auto", cpu_flags=flags, gpus=list(gpus),
                                       environ=environ or {}, bf16_probe=bf16_probe)


def test_cpu_without_native_bf16_gets_float32():
    choice = auto(AVX512, bf16_probe=never_probed)
    assert choice.policy == "float32"
    assert "neither AMX nor AVX512-BF16" in choice.reason


@pytest.mark.parametrize("flags, named", [(AMX, "amx_bf16/avx512_bf16"),
                                          (BF16_ONLY, "avx512_bf16"),
                                          (AVX512 | {"amx_bf16"}, "amx_bf16")])
def test_cpu_with_native_bf16_gets_mixed_bfloat16(flags, named):
    choice = auto(flags)
    assert choice.policy == "mixed_bfloat16"
    assert named in choice.reason
    assert choice.describe().startswith("precision auto -> mixed_bfloat16 (")
    assert "measured bf16 500.0 ms vs float32 1000.0 ms" in choice.reason


@pytest.mark.parametrize("flags", [AMX, BF16_ONLY])
@pytest.mark.parametrize("bf16_s, policy", [(0.89, "mixed_bfloat16"), (0.91, "float32"),
                                            (2.0, "float32")])
def test_native_bf16_is_taken_only_where_measured_faster(flags, bf16_s, policy):
    # The AVX512-BF16 Xeon without AMX of the sixth pass: native flags, bf16 slower.
    choice = auto(flags, bf16_probe=lambda: (bf16_s, 1.0))
    assert choice.policy == policy
    assert f"measured bf16 {1e3 * bf16_s:.1f} ms vs float32 1000.0 ms" in choice.reason
    if policy == "float32":
        assert "bf16 is not faster here" in choice.reason and "<= 0.9x" in choice.reason


def test_onednn_switched_off_means_emulated_bf16():
    choice = auto(AMX, {"TF_ENABLE_ONEDNN_OPTS": "0"}, bf16_probe=never_probed)
    assert choice.policy == "float32" and "TF_ENABLE_ONEDNN_OPTS=0" in choice.reason
    assert auto(AMX, {"TF_ENABLE_ONEDNN_OPTS": "1"}).policy == "mixed_bfloat16"


@pytest.mark.parametrize("var", ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"])
def test_onednn_isa_cap_below_bf16_means_float32(var):
    choice = auto(AMX, {var: "AVX512_CORE"}, bf16_probe=never_probed)
    assert choice.policy == "float32" and f"{var}=AVX512_CORE" in choice.reason


def test_isa_cap_below_amx_keeps_avx512_bf16_but_not_amx_alone():
    assert auto(AMX, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}).policy == "mixed_bfloat16"
    only_amx = AVX512 | {"amx_bf16"}
    assert auto(only_amx, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}).policy == "float32"
    assert auto(AMX, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"}).policy == "mixed_bfloat16"


@pytest.mark.parametrize("cc, policy", [((9, 0), "mixed_bfloat16"), ((8, 0), "mixed_bfloat16"),
                                        ((7, 5), "mixed_float16"), ((7, 0), "mixed_float16"),
                                        ((6, 1), "float32")])
def test_gpu_decides_over_the_cpu(cc, policy):
    assert auto(AVX512, gpus=[cc], bf16_probe=never_probed).policy == policy
    assert auto(AMX, gpus=[cc], bf16_probe=never_probed).policy == policy


def test_weakest_gpu_decides():
    assert auto(AMX, gpus=[(9, 0), (7, 0)]).policy == "mixed_float16"


@pytest.mark.parametrize("policy", precision.POLICIES)
def test_explicit_policy_is_kept_on_any_machine(policy):
    for flags in (AVX512, AMX):
        choice = precision.resolve_precision(policy, cpu_flags=flags, gpus=[], environ={},
                                             bf16_probe=never_probed)
        assert choice.policy == policy and choice.requested == policy


def test_unknown_precision_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="auto.*float32"):
        precision.resolve_precision("bf16", cpu_flags=AMX, gpus=[])


def test_read_cpu_flags_parses_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Fake\nflags\t\t: fpu avx512f amx_bf16\n\n"
                       "processor\t: 1\nflags\t\t: fpu\n")
    assert precision.read_cpu_flags(str(cpuinfo)) == {"fpu", "avx512f", "amx_bf16"}
    assert precision.read_cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_the_bf16_probe_times_both_dtypes_once_per_process():
    precision.measure_bf16_speed.cache_clear()
    try:
        bf16_s, f32_s = precision.measure_bf16_speed()
        assert bf16_s > 0 and f32_s > 0
        assert precision.measure_bf16_speed() == (bf16_s, f32_s)
        assert precision.measure_bf16_speed.cache_info().hits == 1
    finally:
        precision.measure_bf16_speed.cache_clear()


def test_this_machine_resolves_to_a_policy():
    choice = precision.resolve_precision("auto")
    assert choice.policy in precision.POLICIES and choice.reason


def test_probe_times_candidates_in_alternating_rounds_after_a_warm_up_each(monkeypatch):
    """Both candidates are warmed up before any is timed, the timed runs alternate (the
    order reversed every other round), and each candidate's fastest run counts: a slow
    spell during one candidate's first timed runs cannot decide the comparison."""
    log = []
    clock = {"now": 0.0}
    # Seconds each call of a candidate takes, in call order: warm-up first.
    durations = {"a": [9.0, 5.0, 3.0, 4.0, 3.5, 6.0], "b": [9.0, 2.0, 2.5, 1.5, 2.0, 2.0]}

    class Done:
        def numpy(self):
            return None

    def candidate(name):
        def run(*args):
            log.append(name)
            clock["now"] += durations[name][sum(n == name for n in log) - 1]
            return Done()
        return run

    monkeypatch.setattr(probe.time, "perf_counter", lambda: clock["now"])
    monkeypatch.setattr(probe, "REPEATS", 5)
    assert probe.best_times([(candidate("a"), ()), (candidate("b"), ())]) == (3.0, 1.5)
    assert log == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]
