"""LLM-as-judge: verdict parsing, the metric, a real (tiny) local judge under the JSON-schema
constraint, and an upstream judge (a fake OpenAI-compatible server: the world outside) whose
unusable replies are counted, not raised."""

import asyncio
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tunelab.eval.judge import (
    VERDICT_SCHEMA,
    Verdict,
    default_rubric,
    judge_messages,
    judge_metrics,
    judge_one,
    parse_verdict,
)
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.local import open_task_models
from tunelab.upstreams.registry import UpstreamRegistry


@pytest.mark.parametrize("raw, score, error", [
    ('{"score": 4, "reason": "close"}', 4, None),
    ('Verdict: {"score": 2, "reason": "wrong branch"} done', 2, None),
    ('{"score": "5", "reason": "x"}', 5, None),
    ('{"score": 3.0, "reason": "x"}', 3, None),
    ("I would give it a four.", None, "no JSON object"),
    ('{"score": 9, "reason": "x"}', None, "not an integer from 1 to 5"),
    ('{"score": true, "reason": "x"}', None, "not an integer from 1 to 5"),
    ('{"reason": "no score"}', None, "not an integer from 1 to 5"),
    ('[4]', None, "no JSON object"),
])
def test_parse_verdict(raw, score, error):
    v = parse_verdict(raw)
    assert v.score == score and v.raw == raw
    assert (v.error is None) if error is None else (error in v.error)


def test_metric_is_the_mean_of_valid_scores_and_counts_the_rest():
    verdicts = [Verdict(5, "", ""), Verdict(2, "", ""), Verdict(None, "", "x", "bad"), Verdict(4, "", "")]
    assert judge_metrics(verdicts) == {"judge": pytest.approx(11 / 3), "judge_invalid": 1.0}
    empty = judge_metrics([Verdict(None, "", "", "bad")])
    assert math.isnan(empty["judge"]) and empty["judge_invalid"] == 1.0


def test_messages_carry_rubric_input_reference_and_output():
    msgs = judge_messages(default_rubric("qa"), "Q: size?", "answerable: 9 oz", "")
    user = msgs[-1]["content"]
    assert "review snippets" in user and "Q: size?" in user and "9 oz" in user and "(empty)" in user
    assert default_rubric("unknown-task").startswith("Judge how well")


def test_tiny_local_judge_answers_schema_valid_verdicts(settings, store, tiny):
    async def go():
        async with open_task_models(["tiny"], settings, store) as (judge,):
            return await asyncio.gather(*(judge_one(judge, default_rubric("classify"), f"product {i}", "Socks",
                                                    f"Shoes {i}", max_tokens=40) for i in range(4)))

    verdicts = asyncio.run(asyncio.wait_for(go(), 120))
    for v in verdicts:
        data = json.loads(v.raw)  # constrained: always the schema's JSON
        assert set(data) == {"score", "reason"} and v.score == data["score"] in range(1, 6) and v.error is None


class FakeChatServer:
    """Answers /v1/chat/completions from a list of (status, assistant content), in order; records bodies."""

    def __init__(self, replies):
        self.replies, self.bodies = list(replies), []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                fake.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, content = fake.replies.pop(0)
                body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                     "finish_reason": "stop"}]} if status == 200 else {"error": "overloaded"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_upstream_judge_unusable_replies_are_counted_not_raised(home):
    fake = FakeChatServer([(200, 'Sure. {"score": 3, "reason": "partly right"}'), (200, "It is fine, 4/5."),
                           (200, '{"score": 7, "reason": "great"}'), (500, "")])
    settings = Settings(upstream_retries=0)
    store = Store(settings)
    UpstreamRegistry(store).add("remote", fake.url)

    async def go():
        async with open_task_models(["remote/judge-llm"], settings, store) as (judge,):
            return [await judge_one(judge, "rubric", "in", "ref", f"out {i}") for i in range(4)]

    try:
        verdicts = asyncio.run(asyncio.wait_for(go(), 60))
    finally:
        fake.stop()
        store.dispose()
    assert [v.score for v in verdicts] == [3, None, None, None]
    assert "no JSON object" in verdicts[1].error and "not an integer" in verdicts[2].error
    assert verdicts[3].error.startswith("the judge failed") and "500" in verdicts[3].error
    assert judge_metrics(verdicts) == {"judge": 3.0, "judge_invalid": 3.0}
    sent = fake.bodies[0]
    assert sent["model"] == "judge-llm" and sent["temperature"] == 0
    assert sent["response_format"]["json_schema"]["schema"] == VERDICT_SCHEMA
