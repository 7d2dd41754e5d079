"""Distances between places: the great-circle distance and how a card shows it."""

import pytest

from commonsfed.services.errors import ValidationError
from commonsfed.services.places import distance_km, distance_text, read_place


def test_distance_km__amsterdam_to_utrecht_is_about_35_km():
    # 31.1 km south and 15.7 km east
    assert distance_km(52.37, 4.89, 52.09, 5.12) == pytest.approx(34.85, abs=0.05)


def test_distance_km__one_degree_of_latitude_is_about_111_km():
    assert distance_km(0, 0, 1, 0) == pytest.approx(111.19, abs=0.01)
    assert distance_km(10, 179.5, 10, -179.5) == pytest.approx(109.5, abs=0.1)  # the antimeridian
    assert distance_km(52.37, 4.89, 52.37, 4.89) == 0


@pytest.mark.parametrize(
    ("km", "text"),
    [(0.04, "0.0 km"), (1.24, "1.2 km"), (9.94, "9.9 km"), (12.4, "12 km"), (1234.5, "1,234 km")],
)
def test_distance_text__one_decimal_below_ten_km(km, text):
    assert distance_text(km) == text


def test_read_place__rounds_as_listings_round_and_tidies_the_name():
    assert read_place({"name": "  The   bakery corner ", "latitude": "52.3749",
                       "longitude": "-4.8951"}) == ("The bakery corner", 52.37, -4.9)  # fmt: skip


def test_read_place__an_infinite_coordinate_is_refused():
    with pytest.raises(ValidationError) as refused:
        read_place({"name": "Edge", "latitude": "inf", "longitude": "1e999"})
    assert set(refused.value.errors) == {"latitude", "longitude"}
