# PyTorch's side of bench/suites/lora.bench.ts: one LoRA training step of GPT-2 (small, medium) and of a
# SmolLM2-135M-shaped LLaMA with random weights, float32, written in plain PyTorch (no transformers, no peft):
# base weights frozen (requires_grad False), LoRA by hand on the targeted projections as PEFT's lora.Linear
# computes it, y = base(x) + (alpha/r)·B(A(x)) (dropout 0), A kaiming-uniform(a=√5), B zeros; AdamW over the
# adapters only. Targets as PEFT's defaults: gpt2 c_attn (fused q|k|v, Conv1D [in, out]); llama q_proj, v_proj.
#
#   python3 torch-lora.py --model gpt2|gpt2-medium|smollm2 --threads 2 --batch 4 --seq 256 --runs 2 --r 8 --alpha 16
#
# Prints one JSON line: {"model", "threads", "torch", "steps_ms": [wall ms of each timed step], "cpu_ms": the
# same in process CPU time (every thread), "losses",
# "max_rss_mib": peak resident memory of the process (weights included), "trainable": adapter parameters}.
# Timing: one warm-up step, then `runs` timed steps (forward, backward, AdamW step, zero_grad).
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn

CONFIGS = {
    "gpt2": dict(kind="gpt2", vocab=50257, d=768, layers=12, heads=12, ff=3072, positions=1024),
    "gpt2-medium": dict(kind="gpt2", vocab=50257, d=1024, layers=24, heads=16, ff=4096, positions=1024),
    "smollm2": dict(kind="llama", vocab=49152, d=576, layers=30, heads=9, kv=3, ff=1536, theta=100000.0),
}


def frozen(*shape, std=0.02):
    return nn.Parameter(torch.randn(*shape) * std, requires_grad=False)


class Lora(nn.Module):
    """The low-rank update of one projection: (alpha/r)·B(A(x)), A [r, in], B [out, r]."""

    def __init__(self, d_in, d_out, r, alpha):
        super().__init__()
        self.A = nn.Parameter(torch.empty(r, d_in))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(d_out, r))
        self.s = alpha / r

    def forward(self, x):
        return F.linear(F.linear(x, self.A), self.B) * self.s


class Gpt2Block(nn.Module):
    def __init__(self, c, r, alpha):
        super().__init__()
        d, ff = c["d"], c["ff"]
        self.h = c["heads"]
        self.ln1_w, self.ln1_b = nn.Parameter(torch.ones(d), requires_grad=False), frozen(d, std=0)
        self.ln2_w, self.ln2_b = nn.Parameter(torch.ones(d), requires_grad=False), frozen(d, std=0)
        self.c_attn_w, self.c_attn_b = frozen(d, 3 * d), frozen(3 * d, std=0)  # Conv1D [in, out]
        self.c_proj_w, self.c_proj_b = frozen(d, d), frozen(d, std=0)
        self.fc_w, self.fc_b = frozen(d, ff), frozen(ff, std=0)
        self.fc2_w, self.fc2_b = frozen(ff, d), frozen(d, std=0)
        self.lora = Lora(d, 3 * d, r, alpha)

    def forward(self, x):
        B, T, C = x.shape
        h = F.layer_norm(x, (C,), self.ln1_w, self.ln1_b, 1e-5)
        qkv = torch.addmm(self.c_attn_b, h.view(-1, C), self.c_attn_w).view(B, T, 3 * C) + self.lora(h)
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // self.h)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
        a = torch.matmul(F.softmax(s, dim=-1), v).transpose(1, 2).reshape(B, T, C)
        x = x + torch.addmm(self.c_proj_b, a.view(-1, C), self.c_proj_w).view(B, T, C)
        h = F.layer_norm(x, (C,), self.ln2_w, self.ln2_b, 1e-5)
        f = F.gelu(torch.addmm(self.fc_b, h.view(-1, C), self.fc_w), approximate="tanh")
        return x + torch.addmm(self.fc2_b, f, self.fc2_w).view(B, T, C)


class Gpt2(nn.Module):
    def __init__(self, c, r, alpha):
        super().__init__()
        self.wte, self.wpe = frozen(c["vocab"], c["d"]), frozen(c["positions"], c["d"])
        self.blocks = nn.ModuleList([Gpt2Block(c, r, alpha) for _ in range(c["layers"])])
        self.lnf_w, self.lnf_b = nn.Parameter(torch.ones(c["d"]), requires_grad=False), frozen(c["d"], std=0)

    def forward(self, ids):
        B, T = ids.shape
        x = self.wte[ids] + self.wpe[:T]
        for b in self.blocks:
            x = b(x)
        x = F.layer_norm(x, (x.shape[-1],), self.lnf_w, self.lnf_b, 1e-5)
        return F.linear(x, self.wte)


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, c, r, alpha):
        super().__init__()
        d, ff, self.h, self.kv = c["d"], c["ff"], c["heads"], c["kv"]
        self.hd = d // self.h
        self.n1, self.n2 = nn.Parameter(torch.ones(d), requires_grad=False), nn.Parameter(torch.ones(d), requires_grad=False)
        self.q, self.k, self.v = frozen(d, d), frozen(self.kv * self.hd, d), frozen(self.kv * self.hd, d)  # Linear [out, in]
        self.o = frozen(d, d)
        self.gate, self.up, self.down = frozen(ff, d), frozen(ff, d), frozen(d, ff)
        self.lq, self.lv = Lora(d, d, r, alpha), Lora(d, self.kv * self.hd, r, alpha)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        h = rms_norm(x, self.n1)
        q = (F.linear(h, self.q) + self.lq(h)).view(B, T, self.h, self.hd).transpose(1, 2)
        k = F.linear(h, self.k).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = (F.linear(h, self.v) + self.lv(h)).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.h // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
        a = torch.matmul(F.softmax(s, dim=-1), v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(a, self.o)
        h = rms_norm(x, self.n2)
        return x + F.linear(F.silu(F.linear(h, self.gate)) * F.linear(h, self.up), self.down)


class Llama(nn.Module):
    def __init__(self, c, r, alpha):
        super().__init__()
        self.c = c
        self.embed = frozen(c["vocab"], c["d"])
        self.blocks = nn.ModuleList([LlamaBlock(c, r, alpha) for _ in range(c["layers"])])
        self.norm = nn.Parameter(torch.ones(c["d"]), requires_grad=False)

    def forward(self, ids):
        B, T = ids.shape
        hd = self.c["d"] // self.c["heads"]
        inv = 1.0 / (self.c["theta"] ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed[ids]
        for b in self.blocks:
            x = b(x, cos, sin)
        return F.linear(rms_norm(x, self.norm), self.embed)  # tied head


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--r", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = CONFIGS[a.model]
    model = (Gpt2 if c["kind"] == "gpt2" else Llama)(c, a.r, a.alpha)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, c["vocab"], (a.batch, a.seq + 1), generator=g)
    x, y = ids[:, :-1], ids[:, 1:]
    times, cpu, losses = [], [], []
    for i in range(a.runs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        ms, cms = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
        losses.append(loss.item())
        if i > 0:
            times.append(ms)
            cpu.append(cms)
        del logits, loss
    print(
        json.dumps(
            {
                "model": a.model,
                "threads": a.threads,
                "torch": torch.__version__,
                "steps_ms": times,
                "cpu_ms": cpu,
                "losses": losses,
                "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "trainable": sum(q.numel() for q in params),
            }
        )
    )


if __name__ == "__main__":
    main()
