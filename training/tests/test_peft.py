"""ARMs are PEFT LoRA adapters: PEFT's own loader runs ours on transformers' SmolLM2 with the
logits of genarm.model, and a LoRA made with PEFT loads here as an ARM; bad folders are refused
with their reason."""
import json

import pytest
import torch

from genarm.peft_adapter import AdapterError, base_config, load_peft_arm, read_peft, write_peft

peft = pytest.importorskip("peft")


@pytest.fixture(scope="module")
def hf_folder():
    from genarm.base import hf_folder
    return hf_folder()


@pytest.fixture(scope="module")
def ids(tokenizer):
    text = tokenizer.apply_chat_template([{"role": "user", "content": "How do I fix a flat bicycle tyre?"}],
                                         tokenize=False, add_generation_prompt=True) + "First, take the wheel off"
    return torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])


def hf_model(folder):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()


def test_our_arm_runs_in_peft_with_our_logits(tmp_path, hf_folder, ids):
    from genarm.build import trained_model
    ours = trained_model("arm-harmlessness", "lm").eval()
    cfg = write_peft(ours, tmp_path / "arm")
    assert cfg["r"] == 8 and cfg["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    pm = peft.PeftModel.from_pretrained(hf_model(hf_folder), str(tmp_path / "arm")).eval()
    with torch.no_grad():
        got = pm(input_ids=ids).logits
        want, _ = ours(ids)
        plain = hf_model(hf_folder)(input_ids=ids).logits
    assert (got - want).abs().max().item() < 2e-3  # the same function (fp32, different kernels)
    assert (plain - want).abs().max().item() > 20 * (got - want).abs().max().item()  # and the LoRA matters


def test_a_peft_lora_made_elsewhere_loads_as_an_arm(tmp_path, hf_folder, ids):
    torch.manual_seed(0)
    lc = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                         layers_to_transform=[27, 28, 29], task_type="CAUSAL_LM", lora_dropout=0.0)
    pm = peft.get_peft_model(hf_model(hf_folder), lc)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)  # PEFT starts B at zero: make the adapter do something
    pm.save_pretrained(str(tmp_path / "peft"))
    arm = load_peft_arm(tmp_path / "peft")
    with torch.no_grad():
        want = pm.eval()(input_ids=ids).logits
        got, _ = arm(ids)
    assert (got - want).abs().max().item() < 2e-3


def test_bad_adapters_are_refused_with_their_reason(tmp_path, hf_folder):
    from genarm.build import trained_model
    good = tmp_path / "good"
    write_peft(trained_model("arm-harmlessness", "lm"), good)
    cfg = base_config()
    read_peft(good, cfg)

    def variant(name, edit_cfg=None, tensors=None):
        d = tmp_path / name
        d.mkdir()
        c = json.loads((good / "adapter_config.json").read_text())
        (d / "adapter_config.json").write_text(json.dumps(edit_cfg(c) if edit_cfg else c))
        if tensors is None:
            (d / "adapter_model.safetensors").write_bytes((good / "adapter_model.safetensors").read_bytes())
        else:
            (d / "adapter_model.safetensors").write_bytes(tensors)
        return d

    cases = {
        "other base": (variant("base", lambda c: {**c, "base_model_name_or_path": "meta-llama/Llama-3.2-1B"}), "trained on"),
        "dora": (variant("dora", lambda c: {**c, "use_dora": True}), "use_dora"),
        "rank": (variant("rank", lambda c: {**c, "r": 16}), "expected"),
        "corrupt": (variant("corrupt", tensors=b"\x00" * 64), "unreadable"),
        "prefix tuning": (variant("prefix", lambda c: {**c, "peft_type": "PREFIX_TUNING"}), "only LORA"),
    }
    for _what, (folder, reason) in cases.items():
        with pytest.raises(AdapterError, match=reason):
            read_peft(folder, cfg)
    with pytest.raises(AdapterError, match="no adapter_config.json"):
        read_peft(tmp_path / "nothing", cfg)
