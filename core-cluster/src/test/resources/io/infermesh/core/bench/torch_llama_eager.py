"""PyTorch eager reference for CoreVsReferenceBenchmark: transformers' LlamaForCausalLM forward
(eager attention, DynamicCache-style torch.cat KV cache, greedy generate) written out in plain
torch, because transformers is not installable here. Same math, same op order, same kernels.

Usage: python3 torch_llama_eager.py HF_DIR THREADS
Reads one JSON request per line on stdin: {"prompts": [[ids], ...], "max_tokens": N} (all prompts
the same length, as a batch without padding); answers one JSON line on stdout:
{"tokens": [[ids], ...], "prefill_s": s, "decode_s": s} where decode_s covers the max_tokens - 1
steps after the first token. The first line it prints is {"ready": ...}.
"""
import json
import math
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = bytearray(f.read())  # the tensors below are views of it
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, only F32 is supported")
        start, end = info["data_offsets"]
        t = torch.frombuffer(data, dtype=torch.float32, offset=start, count=(end - start) // 4)
        tensors[name] = t.view(info["shape"])
    return tensors, data


class Llama:
    def __init__(self, hf_dir):
        with open(f"{hf_dir}/config.json") as f:
            c = json.load(f)
        self.w, self._keep = load_safetensors(f"{hf_dir}/model.safetensors")
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.eps = c["rms_norm_eps"]
        theta = c.get("rope_theta", 10000.0)
        # LlamaRotaryEmbedding, rope_type default
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64).float() / self.head_dim))
        self.lm_head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])

    def rms_norm(self, x, weight):  # LlamaRMSNorm
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.eps))

    def rope(self, positions):  # LlamaRotaryEmbedding.forward: (B, T) -> cos, sin (B, T, D)
        freqs = positions[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    @staticmethod
    def rotate_half(x):
        x1 = x[..., : x.shape[-1] // 2]
        x2 = x[..., x.shape[-1] // 2 :]
        return torch.cat((-x2, x1), dim=-1)

    def forward(self, ids, past, start):
        """ids (B, T) at positions start.. ; past: list of (k, v) per layer, grown with torch.cat."""
        b, t = ids.shape
        h = F.embedding(ids, self.w["model.embed_tokens.weight"])
        positions = torch.arange(start, start + t)[None, :].expand(b, t)
        cos, sin = self.rope(positions)
        cos, sin = cos[:, None], sin[:, None]  # unsqueeze over heads
        total = start + t
        mask = None
        if t > 1:
            mask = torch.full((t, total), float("-inf")).triu(start + 1)[None, None]
        groups = self.heads // self.kv_heads
        scale = 1.0 / math.sqrt(self.head_dim)
        for layer in range(self.layers):
            p = f"model.layers.{layer}."
            residual = h
            x = self.rms_norm(h, self.w[p + "input_layernorm.weight"])
            q = F.linear(x, self.w[p + "self_attn.q_proj.weight"]).view(b, t, -1, self.head_dim).transpose(1, 2)
            k = F.linear(x, self.w[p + "self_attn.k_proj.weight"]).view(b, t, -1, self.head_dim).transpose(1, 2)
            v = F.linear(x, self.w[p + "self_attn.v_proj.weight"]).view(b, t, -1, self.head_dim).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if past[layer] is not None:
                k = torch.cat([past[layer][0], k], dim=-2)
                v = torch.cat([past[layer][1], v], dim=-2)
            past[layer] = (k, v)
            # repeat_kv + eager_attention_forward
            k_rep = k[:, :, None].expand(b, self.kv_heads, groups, total, self.head_dim).reshape(b, self.heads, total, self.head_dim)
            v_rep = v[:, :, None].expand(b, self.kv_heads, groups, total, self.head_dim).reshape(b, self.heads, total, self.head_dim)
            scores = torch.matmul(q, k_rep.transpose(2, 3)) * scale
            if mask is not None:
                scores = scores + mask
            probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
            attn = torch.matmul(probs, v_rep).transpose(1, 2).contiguous().reshape(b, t, -1)
            h = residual + F.linear(attn, self.w[p + "self_attn.o_proj.weight"])
            residual = h
            x = self.rms_norm(h, self.w[p + "post_attention_layernorm.weight"])
            gate = F.silu(F.linear(x, self.w[p + "mlp.gate_proj.weight"]))
            h = residual + F.linear(gate * F.linear(x, self.w[p + "mlp.up_proj.weight"]), self.w[p + "mlp.down_proj.weight"])
        h = self.rms_norm(h, self.w["model.norm.weight"])
        return F.linear(h[:, -1:, :], self.lm_head)[:, -1, :]  # generate's logits_to_keep=1

    def generate(self, prompts, max_tokens):
        ids = torch.tensor(prompts, dtype=torch.long)
        past = [None] * self.layers
        t0 = time.perf_counter()
        nxt = self.forward(ids, past, 0).argmax(-1)
        t1 = time.perf_counter()
        out = [nxt]
        pos = ids.shape[1]
        for _ in range(max_tokens - 1):
            nxt = self.forward(nxt[:, None], past, pos).argmax(-1)
            out.append(nxt)
            pos += 1
        t2 = time.perf_counter()
        return torch.stack(out, dim=1).tolist(), t1 - t0, t2 - t1


def main():
    hf_dir, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    model = Llama(hf_dir)
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    with torch.inference_mode():
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            tokens, prefill, decode = model.generate(req["prompts"], req["max_tokens"])
            print(json.dumps({"tokens": tokens, "prefill_s": prefill, "decode_s": decode}), flush=True)


if __name__ == "__main__":
    main()
