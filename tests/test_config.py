"""Settings come from POSE_SERVICE_* and refuse values that cannot work."""

from __future__ import annotations

import re

import pytest

from pose_service.config import Settings, declarations
from pose_service.config_spec import as_text, env_name, spec_of
from pose_service.pipeline import PosePipeline
from pose_service.sessions.router import SessionPolicy
from pose_service.tracking.config import TrackerConfig


def test_environment_is_read_and_overrides_win():
    env = {"POSE_SERVICE_PORT": "5055", "POSE_SERVICE_ESTIMATOR": "replay",
           "POSE_SERVICE_ALLOW_SIMULATED_MISSES": "true"}  # fmt: skip
    settings = Settings.from_env(env, port=6000)
    assert settings.port == 6000 and settings.estimator == "replay"
    assert settings.allow_simulated_misses is True
    assert Settings.from_env(settings.as_env()) == settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POSE_SERVICE_PORT": "abc"}, "POSE_SERVICE_PORT"),
        ({"POSE_SERVICE_ESTIMATOR": "yolo"}, "POSE_SERVICE_ESTIMATOR"),
        ({"POSE_SERVICE_THREADS": "1"}, "POSE_SERVICE_THREADS"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("token", [" ", "secret ", "two words", "\t"])
def test_a_token_with_whitespace_is_refused(token):
    """HTTP strips whitespace around a header's value: such a token can never be sent."""
    with pytest.raises(ValueError, match="AUTH_TOKEN must not contain whitespace"):
        Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0", "POSE_SERVICE_AUTH_TOKEN": token})


def test_a_misspelt_smoothing_mode_is_refused():
    """Before: any other word silently meant no smoothing."""
    with pytest.raises(ValueError, match="TRACK_SMOOTHING must be one of off, kalman, one_euro"):
        Settings.from_env({"POSE_SERVICE_TRACK_SMOOTHING": "oneeuro"})
    assert Settings.from_env({"POSE_SERVICE_TRACK_SMOOTHING": "one_euro"}).track_smoothing


def test_the_predictor_setting_reaches_the_tracker_and_kalman_is_the_default():
    with pytest.raises(ValueError, match="TRACK_PREDICTOR must be one of kalman, learned"):
        Settings.from_env({"POSE_SERVICE_TRACK_PREDICTOR": "mlp"})
    learned = Settings.from_env({"POSE_SERVICE_TRACK_PREDICTOR": "learned"}).tracker_config()
    assert learned.predictor == "learned" and TrackerConfig().predictor == "kalman"


def test_a_non_loopback_bind_requires_a_token_or_an_explicit_opt_out():
    with pytest.raises(ValueError, match="AUTH_TOKEN"):
        Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0"})
    assert Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0", "POSE_SERVICE_AUTH_TOKEN": "t"})
    assert Settings.from_env({"POSE_SERVICE_HOST": "0.0.0.0",
                              "POSE_SERVICE_ALLOW_UNAUTHENTICATED": "true"})  # fmt: skip
    assert Settings.from_env({"POSE_SERVICE_HOST": "::1"}).binds_loopback


# --- each setting declared once -------------------------------------------------------------


def _declared():
    return [(f, kind, spec_of(f)) for f, kind in declarations()]


def _passes(spec, value) -> bool:
    return spec.check is None or spec.check.holds(value)


def _other_value(field, kind, spec):
    """A valid value that is not the default (so reading it proves the variable was read)."""
    default = Settings().__getattribute__(field.name)
    if spec.check and spec.check.options:
        candidates = list(spec.check.options)
    elif kind is bool:
        candidates = [not default]
    elif kind is str:
        candidates = [f"{default}-other", "other"]
    else:
        candidates = [kind(default + 1), kind(default / 2), kind(default - 1)]
    return next(v for v in candidates if v != default and _passes(spec, v))


def _bad_value(kind, spec):
    """A value of the right type that the setting's check refuses."""
    if spec.check.options:
        return "no-such-option" if kind is str else 99
    candidates = {int: [-1, 0, 70_000], float: [-1.0, 0.0, 1.5, 300.0, 70_000.0], str: [" a b "]}
    return next(v for v in candidates[kind] if not _passes(spec, v))


@pytest.mark.parametrize(
    ("field", "kind", "spec"), _declared(), ids=lambda v: getattr(v, "name", "")
)
def test_every_setting_reads_its_variable(field, kind, spec):
    value = _other_value(field, kind, spec)
    env = {"POSE_SERVICE_ALLOW_UNAUTHENTICATED": "true", env_name(field.name): as_text(value)}
    settings = Settings.from_env(env)
    assert getattr(settings, field.name) == value
    assert settings.as_env()[env_name(field.name)] == as_text(value)


@pytest.mark.parametrize(
    ("field", "kind", "spec"),
    [d for d in _declared() if d[2].check is not None],
    ids=lambda v: getattr(v, "name", ""),
)
def test_every_checked_setting_refuses_a_bad_value_naming_its_variable(field, kind, spec):
    bad = as_text(_bad_value(kind, spec))
    with pytest.raises(ValueError, match=f"^{env_name(field.name)} "):
        Settings.from_env({env_name(field.name): bad})


@pytest.mark.parametrize(
    ("field", "kind"),
    [(f, kind) for f, kind, _ in _declared() if kind is not str],
    ids=lambda v: getattr(v, "name", ""),
)
def test_an_unreadable_value_names_its_variable(field, kind):
    with pytest.raises(ValueError, match=f"^{env_name(field.name)}='maybe' is not a valid"):
        Settings.from_env({env_name(field.name): "maybe"})


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("POSE_SERVICE_WORKER_TIMEOUT_S", "-5", "must be > 0"),
        ("POSE_SERVICE_GRACEFUL_TIMEOUT_S", "-1", "must be >= 0"),
        ("POSE_SERVICE_QUEUE_TIMEOUT_S", "nan", "not a finite number"),
        ("POSE_SERVICE_DETECTOR_SCORE_THRESHOLD", "1.5", "must be within [0, 1]"),
        ("POSE_SERVICE_SESSION_MATCH_THRESHOLD", "300", "must be within [0, 255]"),
        ("POSE_SERVICE_TRACK_GATE", "0", "must be > 0"),
        ("POSE_SERVICE_LOG_FORMAT", "xml", "must be one of json, console"),
        ("POSE_SERVICE_HMR2_FP16", "treu", "not true or false"),
    ],
)
def test_values_that_passed_unchecked_before_are_refused(variable, value, says):
    """Before: a negative timeout or a threshold outside its range started the service."""
    with pytest.raises(ValueError, match=re.escape(says)) as refused:
        Settings.from_env({variable: value})
    assert str(refused.value).startswith(variable)


def test_a_refused_token_is_not_echoed():
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"POSE_SERVICE_AUTH_TOKEN": "my secret"})
    assert "my secret" not in str(refused.value)


def test_settings_built_in_code_are_checked_by_type_too():
    with pytest.raises(ValueError, match="POSE_SERVICE_PORT must be a int, not str"):
        Settings(port="5000").validate()  # type: ignore[arg-type]
    assert Settings(session_idle_s=60).replace(port=5001).port == 5001  # an int is a float


def test_the_log_level_is_read_in_any_case():
    assert Settings.from_env({"POSE_SERVICE_LOG_LEVEL": "WARNING"}).log_level == "warning"


def test_tracker_and_session_defaults_are_written_once():
    """The settings that feed TrackerConfig and SessionPolicy take their defaults from them."""
    assert Settings().tracker_config() == TrackerConfig()
    assert Settings().session_policy() == SessionPolicy()
    fed = {spec.feeds for _, _, spec in _declared() if spec.feeds}
    assert len(fed) == 22  # 16 tracker knobs, 6 session knobs
    for f, _, spec in _declared():
        if spec.feeds:
            owner, name = spec.feeds
            assert f.default == getattr(owner(), name)
        assert f.name.startswith("track_") <= (spec.feeds is not None), f.name


def test_changed_settings_reach_the_tracker_and_the_sessions():
    settings = Settings.from_env(
        {"POSE_SERVICE_TRACK_GATE": "2.5", "POSE_SERVICE_TRACK_SMOOTHING": "kalman",
         "POSE_SERVICE_SESSION_IDLE_S": "60", "POSE_SERVICE_MAX_SESSIONS": "4"}
    )  # fmt: skip
    tracker, policy = settings.tracker_config(), settings.session_policy()
    assert (tracker.gate, tracker.smoothing) == (2.5, "kalman")
    assert tracker.flip_ratio == TrackerConfig().flip_ratio  # not a setting: the tracker's own
    assert (policy.idle_s, policy.max_sessions) == (60.0, 4)
    assert PosePipeline(settings.replace(session_persist=False)).router.policy == policy
