"""Small Hugging Face models of the families accel imports, built from configs
(no download) as a user pretraining from scratch has them: Hugging Face's own
initialization (zero biases, unit norms), the family's default attention
implementation, buffers and all. `perturb` adds noise to every parameter for
tests that need each one non-trivial."""
import os
import warnings

import torch
import transformers as T

VOCAB = 128


def _small(config_class, **kw):
    return config_class(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=64, **kw)


# family -> (builder, task): "causal-lm" returns logits [B, S, V]; "classification"
# returns logits [B, num_labels].
FAMILIES = {
    "gpt2": (lambda: T.GPT2LMHeadModel(T.GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4,
                                                    n_positions=64, bos_token_id=0,
                                                    eos_token_id=0)), "causal-lm"),
    "llama": (lambda: T.LlamaForCausalLM(_small(T.LlamaConfig, num_key_value_heads=2)), "causal-lm"),
    "qwen2": (lambda: T.Qwen2ForCausalLM(_small(T.Qwen2Config, num_key_value_heads=2)), "causal-lm"),
    "mistral": (lambda: T.MistralForCausalLM(_small(T.MistralConfig, num_key_value_heads=2)), "causal-lm"),
    "qwen3": (lambda: T.Qwen3ForCausalLM(_small(T.Qwen3Config, num_key_value_heads=2, head_dim=16)),
              "causal-lm"),
    "gemma": (lambda: T.GemmaForCausalLM(_small(T.GemmaConfig, num_key_value_heads=2, head_dim=16)),
              "causal-lm"),
    "phi3": (lambda: T.Phi3ForCausalLM(_small(T.Phi3Config, num_key_value_heads=2, pad_token_id=0)),
             "causal-lm"),
    "gpt_neox": (lambda: T.GPTNeoXForCausalLM(_small(T.GPTNeoXConfig)), "causal-lm"),
    "opt": (lambda: T.OPTForCausalLM(T.OPTConfig(vocab_size=VOCAB, hidden_size=64, ffn_dim=128,
                                                 num_hidden_layers=2, num_attention_heads=4,
                                                 max_position_embeddings=64, word_embed_proj_dim=64)),
            "causal-lm"),
    "bert": (lambda: T.BertForSequenceClassification(_small(T.BertConfig, num_labels=3)), "classification"),
    "roberta": (lambda: T.RobertaForSequenceClassification(_small(T.RobertaConfig, num_labels=3,
                                                                  pad_token_id=1)), "classification"),
}


def build(family, perturb=False, seed=0):
    """The family's model in eval mode (no dropout at export), without a KV
    cache (an export for training has none)."""
    torch.manual_seed(seed)
    builder, _ = FAMILIES[family]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = builder().eval()
    model.config.use_cache = False
    if perturb:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
    return model


def task(family):
    return FAMILIES[family][1]


def auto_class(family):
    """The Auto class a user loads a checkpoint of the family with."""
    return {"causal-lm": T.AutoModelForCausalLM,
            "classification": T.AutoModelForSequenceClassification}[task(family)]


def export(model, path, ids, mask=None, optimize=True, dynamo=True, config=False, opset=None):
    """torch.onnx.export(model, (ids,)) as a user calls it on the Hugging
    Face model itself (parameter names as in its state dict; the output is
    its logits): default arguments except the ones given (optimize=False
    for training exports). `config` also saves the model's config.json
    beside the file, as optimum's exports have it, which the importer
    carries into training checkpoints. `opset` 23 or later makes the
    exporter write attention as ONNX's Attention op."""
    kwargs = {"attention_mask": mask} if mask is not None else {}
    extra = {"optimize": optimize} if dynamo else {}
    if opset:
        extra["opset_version"] = opset
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids,), path, kwargs=kwargs, dynamo=dynamo,
                          input_names=["input_ids"] + (["attention_mask"] if mask is not None else []),
                          output_names=["logits"], **extra)
    if config:
        model.config.save_pretrained(os.path.dirname(os.path.abspath(path)))
