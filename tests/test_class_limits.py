"""Class limits on heavy requests: read from the class config's [limits], refused before any work with
the limit named; teachers and the single-user default are not capped."""

import pytest

from cnnlab.classroom import Limits, check_request, parse_class_config
from cnnlab.errors import ConfigError


def test_the_limits_table_is_read_and_checked():
    config = parse_class_config({"limits": {"field_images": 64, "model_params": 20_000_000}})
    assert config.limits == Limits(field_images=64, top_images_sample=None, model_params=20_000_000)
    assert parse_class_config({}).limits == Limits()
    with pytest.raises(ConfigError, match=r"^limits.field_images must be a whole number of at least 1$"):
        parse_class_config({"limits": {"field_images": 0}})
    with pytest.raises(ConfigError, match="unknown"):
        parse_class_config({"limits": {"images": 3}})


def test_a_request_over_a_limit_is_refused_naming_it(class_config):
    class_config("[limits]\nfield_images = 64\nmodel_params = 1000000\n")
    check_request("field_images", 64)  # at the limit: allowed
    with pytest.raises(ConfigError) as refused:
        check_request("field_images", 256)
    assert str(refused.value) == ("256 images for an effective field: the class allows 64 "
                                  "(limits.field_images in the class config)")
    with pytest.raises(ConfigError, match=r"^132,863,336 parameters in the model: the class allows 1,000,"):
        check_request("model_params", 132_863_336)  # VGG-11's parameters
    check_request("field_images", 256, teacher=True)
    check_request("top_images_sample", 2000)  # not capped by this class


def test_without_a_class_config_nothing_is_capped(monkeypatch):
    monkeypatch.delenv("CNNLAB_CLASS_CONFIG", raising=False)
    check_request("field_images", 10**9)
