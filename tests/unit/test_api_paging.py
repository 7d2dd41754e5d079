"""Mastodon's paging parameters and Link header."""

import pytest
from multidict import MultiDict

from commonsfed.api.errors import ApiError
from commonsfed.api.paging import in_order, page_request
from commonsfed.api.params import Params


def params(**values) -> Params:
    return Params(MultiDict(values))


def test_page_request__limit_is_clamped_as_mastodon_clamps_it():
    assert page_request(params(limit="500")).limit == 40
    assert page_request(params(limit="0")).limit == 1
    assert page_request(params()).limit == 20


def test_page_request__a_min_id_page_reads_upwards_then_shows_newest_first():
    page = page_request(params(min_id="10"))
    assert page.oldest_first and page.after == 10
    assert in_order(page, [11, 12, 13]) == [13, 12, 11]


def test_page_request__an_id_that_is_not_a_number_is_400():
    with pytest.raises(ApiError) as error:
        page_request(params(max_id="abc"))
    assert error.value.status == 400


def test_params__booleans_as_apps_send_them():
    values = params(a="true", b="0", c="on")
    assert (values.bool("a"), values.bool("b"), values.bool("c"), values.bool("d")) == (
        True, False, True, False)  # fmt: skip
    with pytest.raises(ApiError):
        params(x="maybe").bool("x")
