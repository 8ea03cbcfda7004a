"""The pynamodb models and infra/resources agree: keys, attribute types, indexes, streams."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute
from pynamodb.models import Model

from chalicelib.store.models import ALL_MODELS
from infra.template import load_fragment, resources_of_type

TABLES = resources_of_type(load_fragment(), "AWS::DynamoDB::Table")


def _key_schema(hash_name: str, range_name: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_name, "KeyType": "HASH"}]
    if range_name:
        schema.append({"AttributeName": range_name, "KeyType": "RANGE"})
    return schema


def _type(model: type[Model], name: str) -> str:
    return "N" if isinstance(model.get_attributes()[name], NumberAttribute) else "S"


def _model_keys(model: type[Model]) -> tuple[str, str | None]:
    attrs = model.get_attributes()
    hash_name = next(n for n, a in attrs.items() if a.is_hash_key)
    range_name = next((n for n, a in attrs.items() if a.is_range_key), None)
    return hash_name, range_name


def _index_keys(index: Any) -> tuple[str, str | None]:
    schema = {k["KeyType"]: k["AttributeName"] for k in index._get_schema()["key_schema"]}
    return schema["HASH"], schema.get("RANGE")


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_matches_template(model: type[Model]) -> None:
    logical_id = model.Meta.logical_id  # type: ignore[attr-defined]
    props = TABLES[logical_id]["Properties"]
    hash_name, range_name = _model_keys(model)
    assert props["KeySchema"] == _key_schema(hash_name, range_name)

    indexes = dict(model._indexes)  # type: ignore[attr-defined]
    template_indexes = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == set(template_indexes)
    key_attrs = {hash_name, range_name} - {None}
    for name, index in indexes.items():
        ih, ir = _index_keys(index)
        assert template_indexes[name]["KeySchema"] == _key_schema(ih, ir)
        projection = template_indexes[name]["Projection"]
        assert projection["ProjectionType"] == index.Meta.projection.projection_type
        assert sorted(projection.get("NonKeyAttributes", [])) == sorted(
            index.Meta.projection.non_key_attributes or [])
        key_attrs |= {ih, ir} - {None}

    declared = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    assert declared == {name: _type(model, name) for name in key_attrs}

    stream = props.get("StreamSpecification", {}).get("StreamViewType")
    assert stream == getattr(model.Meta, "stream_view_type", None)


def test_every_table_is_named_to_the_functions_by_its_variable() -> None:
    from chalicelib.config import env_name
    from infra.template import environment_variables

    env = environment_variables(load_fragment())
    for logical_id in TABLES:
        assert env.get(env_name(logical_id)) == {"Ref": logical_id}, logical_id
    assert {m.Meta.logical_id for m in ALL_MODELS} == set(TABLES)  # type: ignore[attr-defined]
