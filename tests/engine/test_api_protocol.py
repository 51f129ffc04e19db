"""The worker protocol: errors are data, never exceptions."""

import json

from engine.api import PROTOCOL_VERSION, handle


def _reply(request) -> dict:
    text = handle(request if isinstance(request, str) else json.dumps(request))
    return json.loads(text)


def test_version_op():
    reply = _reply({"v": 1, "id": 7, "op": "version", "args": {}})
    assert reply["ok"] is True and reply["id"] == 7
    assert reply["result"]["protocol"] == PROTOCOL_VERSION


def test_unknown_op_is_an_error_reply():
    reply = _reply({"v": 1, "id": 1, "op": "explode", "args": {}})
    assert reply["ok"] is False
    assert "unknown op 'explode'" in reply["error"]["message"]


def test_malformed_json_is_an_error_reply():
    reply = _reply("{not json")
    assert reply["ok"] is False and reply["id"] is None
    assert "not valid JSON" in reply["error"]["message"]


def test_protocol_mismatch_names_the_fix():
    reply = _reply({"v": 99, "id": 3, "op": "version"})
    assert reply["ok"] is False and reply["error"]["field"] == "v"
    assert "reload" in reply["error"]["message"]


def test_invalid_workload_names_field_before_loading_a_model():
    reply = _reply({"v": 1, "id": 4, "op": "infer", "args": {"model": "x", "context": 0}})
    assert reply["ok"] is False
    assert reply["error"] == {
        "type": "invalid_workload",
        "message": "context must be at least 1 (tokens per sequence), got 0",
        "field": "context",
    }


def test_pasted_config_that_is_not_json():
    reply = _reply({"v": 1, "id": 5, "op": "params", "args": {"config": '{"a": '}})
    assert reply["ok"] is False and reply["error"]["field"] == "config"
    assert reply["error"]["type"] == "config_error"
