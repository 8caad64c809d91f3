import pytest

from weir.errors import InvalidInputError
from weir.metrics import limits
from weir.metrics.series import canonical_key, make_series, matches, series_id


def test_canonical_key_sorts_and_escapes():
    assert canonical_key("cpu", {}) == "cpu"
    assert canonical_key("cpu", {"region": "eu", "host": "a"}) == 'cpu{host="a",region="eu"}'
    assert canonical_key("m", {"k": 'say "hi"\\\n'}) == 'm{k="say \\"hi\\"\\\\\\n"}'


def test_id_is_stable_and_order_independent():
    a = make_series("cpu", {"host": "a", "region": "eu"}, "gauge", None)
    b = make_series("cpu", {"region": "eu", "host": "a"}, "gauge", None)
    assert a.id == b.id == series_id('cpu{host="a",region="eu"}')
    assert -(2**63) <= a.id < 2**63
    assert make_series("cpu", {"host": "b"}, "gauge", None).id != a.id


@pytest.mark.parametrize(
    "name, dims, field",
    [
        ("", {}, "name"),
        ("1cpu", {}, "name"),
        ("cpu load", {}, "name"),
        ("a/b", {}, "name"),
        ("x" * (limits.MAX_NAME_LENGTH + 1), {}, "name"),
        ("cpu", {"bad key": "v"}, "dimensions"),
        ("cpu", {"k": ""}, "dimensions.k"),
        ("cpu", {"k": "line\nbreak"}, "dimensions.k"),
        ("cpu", {"k": "v" * (limits.MAX_DIM_VALUE_LENGTH + 1)}, "dimensions.k"),
        ("cpu", {f"k{i}": "v" for i in range(limits.MAX_DIMENSIONS + 1)}, "dimensions"),
    ],
)
def test_invalid_series_name_the_field(name, dims, field):
    with pytest.raises(InvalidInputError) as err:
        make_series(name, dims, "gauge", None)
    assert err.value.message.startswith(field + ":"), err.value.message


def test_valid_names():
    for name in ("cpu", "_x", "http.requests:rate-5m", "A" * limits.MAX_NAME_LENGTH):
        make_series(name, {"k.v-1": "any value ✓"}, "gauge", None)


def test_matches():
    s = make_series("cpu", {"host": "a", "region": "eu"}, "gauge", None)
    assert matches(s, {}) and matches(s, {"host": "a"}) and not matches(s, {"host": "b"})
    assert not matches(s, {"zone": "a"})
