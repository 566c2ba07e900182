# The PyTorch anchor of the gpt and roofline benchmarks: a GPT-2 training step written in plain PyTorch the way
# transformers' modeling_gpt2.py runs it (pre-LN blocks, Conv1D as addmm, causal softmax attention, GELU tanh,
# tied head, mean cross-entropy; AdamW lr 3e-4, β 0.9/0.999, weight decay 0.01; no dropout), float32, on
# random byte ids of the suite's batch (B × T). No transformers package: the same ops, without the library.
#
#   python3 torch-gpt.py --mode time    --threads 1 --layers 4 --d 128 --heads 4 --ffn 512 [--steps 12]
#   python3 torch-gpt.py --mode profile --threads 1 --layers 4 --d 128 --heads 4 --ffn 512 [--steps 3]
#
# time: steps run back to back (as simdformer's side runs them), 3 warm-up steps, then `steps` timed steps;
#   prints {"torch", "threads", "stepsMs": [...], "tokensPerSecond": B·T / median step, "losses": [...]}.
# profile: 3 warm-up steps, then `steps` steps under torch.profiler (CPU); prints {"torch", "threads",
#   "stepMs": wall time per profiled step, "ops": [{name, calls, selfMs, totalMs, flops}] per step, ranked by
#   self time}. Self time is the op's own wall time on the calling thread (its intra-op threads included).
# Threads: torch.set_num_threads(threads); the caller also sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS.
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn_w = nn.Parameter(torch.randn(d, 3 * d) * 0.02)
        self.c_attn_b = nn.Parameter(torch.zeros(3 * d))
        self.c_proj_w = nn.Parameter(torch.randn(d, d) * 0.02)
        self.c_proj_b = nn.Parameter(torch.zeros(d))
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc_w = nn.Parameter(torch.randn(d, ffn) * 0.02)
        self.c_fc_b = nn.Parameter(torch.zeros(ffn))
        self.mlp_proj_w = nn.Parameter(torch.randn(ffn, d) * 0.02)
        self.mlp_proj_b = nn.Parameter(torch.zeros(d))

    def forward(self, x, keep):
        B, T, C = x.shape
        h, D = self.heads, C // self.heads
        a = torch.addmm(self.c_attn_b, self.ln_1(x).view(-1, C), self.c_attn_w).view(B, T, 3 * C)
        q, k, v = (t.view(B, T, h, D).transpose(1, 2) for t in a.split(C, dim=2))  # [B, h, T, D]
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(D))  # [B, h, T, T]
        s = s.masked_fill(~keep, torch.finfo(s.dtype).min)
        o = torch.matmul(F.softmax(s, dim=-1), v).transpose(1, 2).reshape(B * T, C)
        x = x + torch.addmm(self.c_proj_b, o, self.c_proj_w).view(B, T, C)
        u = F.gelu(torch.addmm(self.c_fc_b, self.ln_2(x).view(-1, C), self.c_fc_w), approximate='tanh')
        return x + torch.addmm(self.mlp_proj_b, u, self.mlp_proj_w).view(B, T, C)


class GPT(nn.Module):
    def __init__(self, vocab, context, d, layers, heads, ffn):
        super().__init__()
        self.wte = nn.Parameter(torch.randn(vocab, d) * 0.02)
        self.wpe = nn.Parameter(torch.randn(context, d) * 0.01)
        self.h = nn.ModuleList(Block(d, heads, ffn) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.register_buffer('keep', torch.ones(context, context, dtype=torch.bool).tril())

    def loss(self, ids, labels):
        B, T = ids.shape
        x = self.wte[ids] + self.wpe[:T]
        for b in self.h:
            x = b(x, self.keep[:T, :T])
        logits = self.ln_f(x).view(B * T, -1) @ self.wte.t()  # tied head
        return F.cross_entropy(logits, labels.view(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--mode', choices=['time', 'profile'], required=True)
    p.add_argument('--threads', type=int, required=True)
    for name, default in [('layers', 4), ('d', 128), ('heads', 4), ('ffn', 512), ('context', 128), ('vocab', 256)]:
        p.add_argument(f'--{name}', type=int, default=default)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--steps', type=int, default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = GPT(a.vocab, a.context, a.d, a.layers, a.heads, a.ffn)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), weight_decay=0.01)
    g = torch.Generator().manual_seed(1)

    def step():
        ids = torch.randint(0, a.vocab, (a.batch, a.context + 1), generator=g)
        loss = model.loss(ids[:, :-1], ids[:, 1:].contiguous())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    out = {'torch': torch.__version__, 'threads': a.threads}
    if a.mode == 'time':
        steps = a.steps or 12
        ms, losses = [], []
        for _ in range(steps):
            t = time.perf_counter()
            losses.append(step())
            ms.append((time.perf_counter() - t) * 1e3)
        out.update(stepsMs=ms, tokensPerSecond=a.batch * a.context / (statistics.median(ms) / 1e3), losses=losses)
    else:
        steps = a.steps or 3
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            t = time.perf_counter()
            for _ in range(steps):
                step()
            wall = (time.perf_counter() - t) * 1e3
        ops = []
        for e in prof.key_averages():
            ops.append({
                'name': e.key,
                'calls': e.count / steps,
                'selfMs': e.self_cpu_time_total / 1e3 / steps,
                'totalMs': e.cpu_time_total / 1e3 / steps,
                'flops': (e.flops or 0) / steps,
            })
        ops.sort(key=lambda o: -o['selfMs'])
        out.update(stepMs=wall / steps, ops=ops)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
