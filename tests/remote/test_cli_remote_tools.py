"""``gemma-desk ask --remote`` with tools: the call comes back as OpenAI ``tool_calls``, runs here, and its result
goes to the server in OpenAI's shapes; the same conversation core and output as with a local model."""

from __future__ import annotations

import json
import subprocess

from tests.remote.servers import CannedServer, delta


def test_a_remote_tool_call_runs_here_and_its_result_goes_back(
    canned: CannedServer, python: str, cli_env: dict[str, str]
) -> None:
    call = {"index": 0, "id": "call_abc", "type": "function", "function": {"name": "calculator", "arguments": ""}}
    canned.reply(
        delta(tool_calls=[call]),
        delta(
            tool_calls=[{"index": 0, "function": {"arguments": '{"expression": "6*7"}'}}], finish_reason="tool_calls"
        ),
        "[DONE]",
    )
    canned.reply(delta(content="It is 42."), delta(content="", finish_reason="stop"), "[DONE]")
    args = ["ask", "--remote", canned.url, "--builtin-tools", "--allow", "builtin/calculator", "--json", "Six sevens?"]
    proc = subprocess.run(
        [python, "-m", "app", *args], capture_output=True, text=True, env=cli_env, timeout=120, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["name"] == "calculator" and "42" in json.dumps(result)
    assert "".join(e["text"] for e in events if e["type"] == "answer") == "It is 42."
    assert events[-1] == {"type": "done", "stop_reason": "end"}
    first, second = canned.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["current_time", "calculator"]
    user, assistant, tool = second["messages"]
    assert user == {"role": "user", "content": "Six sevens?"}
    (sent,) = assistant["tool_calls"]
    assert sent["function"] == {"name": "calculator", "arguments": '{"expression": "6*7"}'}
    assert tool["role"] == "tool" and tool["tool_call_id"] == sent["id"] and "42" in tool["content"]
