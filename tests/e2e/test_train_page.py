"""The Train page in a real browser: the form has every field of each recipe's schema with its help
and default; a bad value shows the field's message and submits nothing (a rule of the schema caught
in the browser, a rule across fields caught by the server); the YAML it shows downloads as a file
that `tunelab train` reads back to the same recipe."""

from __future__ import annotations

import json
import uuid

from browser_support import shot

from tunelab.train import DPOConfig, SFTConfig, load_config


def test_the_form_has_every_field_with_help_and_default(watched, dashboard):
    page, _ = watched
    page.goto(dashboard.url + "/train")
    page.wait_for_selector("#f-learning_rate")
    fields = set(page.eval_on_selector_all(".recipe-form [data-path]", "els => els.map(e => e.dataset.path)"))
    expected = {n for n in SFTConfig.model_fields if n != "recipe"} | {"lora." + n for n in ("r", "alpha", "dropout", "target_modules")}
    assert fields == expected
    lr = page.locator('.field[data-path="learning_rate"]')
    assert page.input_value("#f-learning_rate") == "0.0002"
    assert "Peak learning rate." in lr.inner_text() and "0 < x" in lr.inner_text() and "default: 0.0002" in lr.inner_text()
    assert page.locator("#yaml-state").inner_text().startswith("1 field to fix")  # dataset is required...
    assert page.locator("#f-dataset-error").inner_text() == ""  # ...but not shouted at before it is touched
    shot(page, "train-form-sft")

    page.fill("#f-dataset", "kept-across-recipes")
    page.click("#tab-dpo")
    page.wait_for_selector("#f-beta")
    assert page.input_value("#f-dataset") == "kept-across-recipes"
    assert page.input_value("#f-learning_rate") == "0.000005"  # DPO's own default
    dpo = set(page.eval_on_selector_all(".recipe-form [data-path]", "els => els.map(e => e.dataset.path)"))
    assert {n for n in DPOConfig.model_fields if n != "recipe"} <= dpo
    page.wait_for_function("document.getElementById('yaml').textContent.includes('recipe: dpo')")
    shot(page, "train-form-dpo")


def test_a_bad_value_shows_its_message_and_submits_nothing(watched, dashboard):
    page, _ = watched
    jobs_posted = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/v1/jobs") and jobs_posted.append(r.url))
    page.goto(dashboard.url + "/train")
    page.wait_for_selector("#f-learning_rate")
    page.fill("#f-dataset", "anything.jsonl")
    page.fill("#f-learning_rate", "-1")
    page.click("#submit")
    error = page.locator("#f-learning_rate-error")
    error.wait_for()
    assert error.inner_text() == "Input should be greater than 0"
    assert page.get_attribute("#f-learning_rate", "aria-invalid") == "true"
    assert "learning_rate: Input should be greater than 0" in page.locator("#problems").inner_text()
    page.fill("#f-batch_size", "2.5")
    page.locator("#f-batch_size").blur()
    assert page.locator("#f-batch_size-error").inner_text() == "Input should be a valid integer"
    shot(page, "train-field-error")

    # A rule across fields is the server's: full fine-tuning with a LoRA section.
    page.fill("#f-learning_rate", "0.0001")
    page.fill("#f-batch_size", "2")
    page.select_option("#f-method", "full")
    page.check('input[name="lora.__set"]')
    page.click("#submit")
    page.wait_for_function("document.getElementById('f-method-error').textContent.includes('remove the `lora:` section')")
    shot(page, "train-server-error", full_page=False)
    assert jobs_posted == []


def test_the_yaml_downloads_as_a_recipe_the_cli_reads(watched, dashboard, tmp_path):
    page, _ = watched
    name = "yaml-" + uuid.uuid4().hex[:6]
    page.goto(dashboard.url + "/train")
    page.wait_for_selector("#f-dataset")
    page.fill("#f-dataset", "shop.jsonl")
    page.fill("#f-base_model", "tiny")
    page.check('input[name="lora.__set"]')  # SFT leaves its LoRA section to the method unless it is set
    page.fill("#f-lora-target_modules", "q_proj, v_proj")
    page.click("summary:has-text('Output and tracking')")
    page.fill("#f-adapter_name", name)
    page.wait_for_function(f"document.getElementById('yaml').textContent.includes('adapter_name: {name}')")
    assert "warning" in page.locator("#yaml-state").inner_text()  # shop.jsonl is not on this server
    assert "neither a registered dataset nor a file" in page.locator("#f-dataset-error").inner_text()
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == f"{name}.yaml"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    cfg = load_config(path)
    assert cfg.adapter_name == name and cfg.lora.target_modules == ["q_proj", "v_proj"] and cfg.base_model == "tiny"
    with dashboard.client() as c:
        served = c.post("/v1/recipes/validate", json={"recipe": json.loads(json.dumps(cfg.model_dump(mode="json")))})
    assert served.json()["yaml"] == path.read_text()  # the page's file is the server's YAML, byte for byte
    shot(page, "train-yaml-valid", full_page=False)
