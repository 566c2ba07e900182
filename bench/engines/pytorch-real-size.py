# PyTorch's side of bench/suites/real-size.bench.ts: the published configs of gpt2(-medium), t5-small,
# facebook/bart-base and bert-base-uncased with random weights, float32, written out in plain PyTorch the
# way Hugging Face's modeling code runs them (Conv1D as addmm, nn.Linear, past keys and values
# concatenated each step, cross-attention keys and values computed once, beams reordered with
# index_select). No transformers package: the same ops, without the library.
#
#   python3 pytorch-real-size.py --task gpt2-greedy --threads 1 --runs 3 [--prompt 32 --new 64]
#
# Prints one JSON line: {"task", "threads", "torch", "runs": [[ms per step…] | ms per call…], "cpu": the same
# in process CPU time (every thread)}.
# Timing as the simdformer side times it (bench/suites/real-size.bench.ts): one warm-up call, then `runs`
# calls; per call the wall time of each decoding step (after the first token) or of the whole call.
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

CONFIGS = {
    "gpt2": dict(vocab=50257, d=768, layers=12, heads=12, ff=3072, positions=1024, eps=1e-5),
    "gpt2-medium": dict(vocab=50257, d=1024, layers=24, heads=16, ff=4096, positions=1024, eps=1e-5),
    "t5-small": dict(vocab=32128, d=512, layers=6, heads=8, d_kv=64, ff=2048, buckets=32, max_distance=128, eps=1e-6),
    "bart-base": dict(vocab=50265, d=768, layers=6, heads=12, ff=3072, positions=1024, eps=1e-5),
    "bert-base-uncased": dict(vocab=30522, d=768, layers=12, heads=12, ff=3072, positions=512, types=2, eps=1e-12),
}


def normal(*shape, std=0.02):
    return nn.Parameter(torch.randn(*shape) * std, requires_grad=False)


def zeros(*shape):
    return nn.Parameter(torch.zeros(*shape), requires_grad=False)


def heads(x, h):  # [B, T, h·D] → [B, h, T, D]
    B, T, C = x.shape
    return x.view(B, T, h, C // h).transpose(1, 2)


def merge(x):  # [B, h, T, D] → [B, T, h·D]
    B, h, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, h * D)


def attend(q, k, v, scale, causal=False, bias=None, mask=None):
    s = torch.matmul(q, k.transpose(-1, -2)) * scale  # [B, h, Tq, Tk]
    if bias is not None:
        s = s + bias
    if causal and q.shape[-2] > 1:
        Tq, Tk = q.shape[-2], k.shape[-2]
        keep = torch.ones(Tq, Tk, dtype=torch.bool).tril(Tk - Tq)
        s = s.masked_fill(~keep, torch.finfo(s.dtype).min)
    if mask is not None:
        s = s + mask
    return torch.matmul(F.softmax(s, dim=-1), v)


# --- GPT-2 (GPT2LMHeadModel) ------------------------------------------------------------------------


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(nn.Module):  # weight [in, out], y = b + x·W
    def __init__(self, i, o):
        super().__init__()
        self.weight, self.bias = normal(i, o), zeros(o)

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(*x.shape[:-1], -1)


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d"]
        self.h = c["heads"]
        self.ln_1, self.ln_2 = nn.LayerNorm(d, c["eps"]), nn.LayerNorm(d, c["eps"])
        self.c_attn, self.c_proj = Conv1D(d, 3 * d), Conv1D(d, d)
        self.c_fc, self.mlp_proj = Conv1D(d, c["ff"]), Conv1D(c["ff"], d)

    def forward(self, x, past):
        q, k, v = self.c_attn(self.ln_1(x)).split(x.shape[-1], dim=2)
        q, k, v = heads(q, self.h), heads(k, self.h), heads(v, self.h)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=-2), torch.cat((past[1], v), dim=-2)
        a = attend(q, k, v, q.shape[-1] ** -0.5, causal=True)
        x = x + self.c_proj(merge(a))
        x = x + self.mlp_proj(gelu_new(self.c_fc(self.ln_2(x))))
        return x, (k, v)


class GPT2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte, self.wpe = normal(c["vocab"], c["d"]), normal(c["positions"], c["d"])
        self.h = nn.ModuleList(GPT2Block(c) for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["d"], c["eps"])

    def forward(self, ids, start, pasts):
        x = F.embedding(ids, self.wte) + F.embedding(torch.arange(start, start + ids.shape[1]), self.wpe)
        new = []
        for block, past in zip(self.h, pasts):
            x, kv = block(x, past)
            new.append(kv)
        return F.linear(self.ln_f(x[:, -1]), self.wte), new  # the tied head on the last position


def gpt2_greedy(model, prompt, new):
    """Wall and process CPU ms of each step after the first token."""
    ids = torch.tensor([prompt])
    logits, pasts = model(ids, 0, [None] * len(model.h))
    token = logits.argmax(-1)
    times, cpu, start = [], [], len(prompt)
    for _ in range(new - 1):
        t, c = time.perf_counter(), time.process_time()
        logits, pasts = model(token.view(1, 1), start, pasts)
        token = logits.argmax(-1)
        times.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
        start += 1
    return times, cpu


# --- T5 (T5ForConditionalGeneration) and BART (BartForConditionalGeneration) ------------------------


def t5_bucket(relative, bidirectional, num_buckets, max_distance):
    """T5Attention._relative_position_bucket."""
    buckets = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative > 0).to(torch.long) * num_buckets
        relative = torch.abs(relative)
    else:
        relative = -torch.min(relative, torch.zeros_like(relative))
    max_exact = num_buckets // 2
    is_small = relative < max_exact
    large = max_exact + (
        torch.log(relative.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, relative, large)


class T5Norm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d), requires_grad=False), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Attention(nn.Module):
    """q, k, v, o projections (T5: no biases, unscaled; BART: biases, q scaled by D^-0.5)."""

    def __init__(self, d, h, inner, bias, std):
        super().__init__()
        self.h, self.bias = h, bias
        self.q, self.k, self.v = (nn.Linear(d, inner, bias=bias) for _ in range(3))
        self.o = nn.Linear(inner, d, bias=bias)
        for lin in (self.q, self.k, self.v, self.o):
            nn.init.normal_(lin.weight, std=std)
            lin.requires_grad_(False)
        self.scale = 1.0 if not bias else (inner // h) ** -0.5

    def kv(self, x):
        return heads(self.k(x), self.h), heads(self.v(x), self.h)

    def forward(self, x, kv, causal=False, bias=None, mask=None):
        a = attend(heads(self.q(x), self.h), kv[0], kv[1], self.scale, causal, bias, mask)
        return self.o(merge(a))


class Seq2SeqBlock(nn.Module):
    def __init__(self, c, t5, cross):
        super().__init__()
        d, h = c["d"], c["heads"]
        inner = h * c.get("d_kv", d // h)
        std = 0.02 if not t5 else 0.05
        self.t5 = t5
        self.self_attn = Attention(d, h, inner, not t5, std)
        self.cross = Attention(d, h, inner, not t5, std) if cross else None
        self.fc1, self.fc2 = nn.Linear(d, c["ff"], bias=not t5), nn.Linear(c["ff"], d, bias=not t5)
        for lin in (self.fc1, self.fc2):
            nn.init.normal_(lin.weight, std=std)
            lin.requires_grad_(False)
        norm = (lambda: T5Norm(d, c["eps"])) if t5 else (lambda: nn.LayerNorm(d, c["eps"]))
        self.n1, self.n2, self.n3 = norm(), norm(), norm()

    def ffn(self, x):
        return self.fc2(F.relu(self.fc1(x)) if self.t5 else F.gelu(self.fc1(x)))

    def forward(self, x, past=None, memory_kv=None, bias=None, causal=False):
        """T5: pre-norm; BART: post-norm. past: this layer's self-attention (k, v) so far (decoding)."""
        h = self.n1(x) if self.t5 else x
        k, v = self.self_attn.kv(h)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=-2), torch.cat((past[1], v), dim=-2)
        a = self.self_attn(h, (k, v), causal, bias)
        x = x + a if self.t5 else self.n1(x + a)
        if self.cross is not None:
            h = self.n2(x) if self.t5 else x
            a = self.cross(h, memory_kv)
            x = x + a if self.t5 else self.n2(x + a)
        h = self.n3(x) if self.t5 else x
        x = x + self.ffn(h) if self.t5 else self.n3(x + self.ffn(h))
        return x, (k, v)


class Seq2Seq(nn.Module):
    def __init__(self, c, t5):
        super().__init__()
        self.c, self.t5 = c, t5
        self.shared = normal(c["vocab"], c["d"], std=1.0 if t5 else 0.02)
        self.enc = nn.ModuleList(Seq2SeqBlock(c, t5, False) for _ in range(c["layers"]))
        self.dec = nn.ModuleList(Seq2SeqBlock(c, t5, True) for _ in range(c["layers"]))
        if t5:
            self.enc_bias, self.dec_bias = normal(c["buckets"], c["heads"]), normal(c["buckets"], c["heads"])
            self.enc_norm, self.dec_norm = T5Norm(c["d"], c["eps"]), T5Norm(c["d"], c["eps"])
        else:
            self.enc_pos, self.dec_pos = normal(c["positions"] + 2, c["d"]), normal(c["positions"] + 2, c["d"])
            self.enc_ln, self.dec_ln = nn.LayerNorm(c["d"], c["eps"]), nn.LayerNorm(c["d"], c["eps"])
            self.final_logits_bias = zeros(c["vocab"])

    def position_bias(self, table, Tq, Tk, start, bidirectional):
        ctx = torch.arange(start, start + Tq)[:, None]
        mem = torch.arange(Tk)[None, :]
        b = t5_bucket(mem - ctx, bidirectional, self.c["buckets"], self.c["max_distance"])
        return F.embedding(b, table).permute(2, 0, 1).unsqueeze(0)  # [1, h, Tq, Tk]

    def embed(self, ids, start, encoder):
        x = F.embedding(ids, self.shared)
        if self.t5:
            return x
        pos = self.enc_pos if encoder else self.dec_pos
        ln = self.enc_ln if encoder else self.dec_ln
        return ln(x + F.embedding(torch.arange(start, start + ids.shape[1]) + 2, pos))

    def encode(self, ids):
        """The encoder's output, and each decoder layer's cross-attention keys and values of it."""
        x = self.embed(ids, 0, True)
        S = ids.shape[1]
        bias = self.position_bias(self.enc_bias, S, S, 0, True) if self.t5 else None
        for block in self.enc:
            x, _ = block(x, bias=bias)
        if self.t5:
            x = self.enc_norm(x)
        return [block.cross.kv(x) for block in self.dec]

    def step(self, token, start, pasts, memory):
        """One decoding position for every row: logits [rows, V] and the grown caches."""
        x = self.embed(token, start, False)
        bias = self.position_bias(self.dec_bias, 1, start + 1, start, False) if self.t5 else None
        new = []
        for block, past, kv in zip(self.dec, pasts, memory):
            x, p = block(x, past, kv, bias, causal=True)
            new.append(p)
        x = x[:, -1]
        if self.t5:
            return F.linear(self.dec_norm(x) * self.c["d"] ** -0.5, self.shared), new
        return F.linear(x, self.shared) + self.final_logits_bias, new


def seq2seq_generate(model, source, new, beams, start_id):
    """Greedy (beams = 1) or beam search (no early stop: every call decodes `new` positions)."""
    memory = model.encode(torch.tensor([source]))
    if beams > 1:
        memory = [(k.repeat(beams, 1, 1, 1), v.repeat(beams, 1, 1, 1)) for k, v in memory]
    tokens = torch.full((beams, 1), start_id, dtype=torch.long)
    scores = torch.zeros(beams)
    scores[1:] = -1e9  # only the first beam is live at the start
    pasts = [None] * len(model.dec)
    out = []
    for pos in range(new):
        logits, pasts = model.step(tokens, pos, pasts, memory)
        if beams == 1:
            tokens = logits.argmax(-1, keepdim=True)
            out.append(tokens.item())
            continue
        lp = F.log_softmax(logits, dim=-1) + scores[:, None]  # [beams, V]
        V = lp.shape[-1]
        top, idx = lp.view(-1).topk(2 * beams)
        parents, chosen = idx[:beams] // V, idx[:beams] % V
        scores = top[:beams]
        tokens = chosen.view(beams, 1)
        pasts = [(k.index_select(0, parents), v.index_select(0, parents)) for k, v in pasts]
        out.append(chosen[0].item())
    return out


# --- BERT (BertForSequenceClassification) ------------------------------------------------------------


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d"]
        self.attn = Attention(d, c["heads"], d, True, 0.02)
        self.fc1, self.fc2 = nn.Linear(d, c["ff"]), nn.Linear(c["ff"], d)
        for lin in (self.fc1, self.fc2):
            nn.init.normal_(lin.weight, std=0.02)
            lin.requires_grad_(False)
        self.n1, self.n2 = nn.LayerNorm(d, c["eps"]), nn.LayerNorm(d, c["eps"])

    def forward(self, x, mask):
        x = self.n1(x + self.attn(x, self.attn.kv(x), mask=mask))
        return self.n2(x + self.fc2(F.gelu(self.fc1(x))))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d"]
        self.word, self.pos, self.token_type = normal(c["vocab"], d), normal(c["positions"], d), normal(c["types"], d)
        self.ln = nn.LayerNorm(d, c["eps"])
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c["layers"]))
        self.pooler, self.classifier = nn.Linear(d, d), nn.Linear(d, 2)

    def forward(self, ids, mask):
        B, T = ids.shape
        x = F.embedding(ids, self.word) + F.embedding(torch.arange(T), self.pos) + self.token_type[0]
        x = self.ln(x)
        m = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, m)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


# --- the tasks ---------------------------------------------------------------------------------------


def ids(n, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, vocab, (n,), generator=g).tolist()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--prompt", type=int, default=32)
    p.add_argument("--new", type=int, default=32)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    family, kind = a.task.rsplit("-", 1)
    with torch.inference_mode():
        if family in ("gpt2", "gpt2-medium"):
            model = GPT2(CONFIGS[family]).eval()
            prompt = ids(a.prompt, 50257, 1)
            call = lambda: gpt2_greedy(model, prompt, a.new)  # noqa: E731
            per_step = True
        elif family in ("t5", "bart"):
            t5 = family == "t5"
            c = CONFIGS["t5-small" if t5 else "bart-base"]
            model = Seq2Seq(c, t5).eval()
            source = ids(a.prompt, c["vocab"], 2)
            beams = 4 if kind == "beam4" else 1
            call = lambda: seq2seq_generate(model, source, a.new, beams, 0 if t5 else 2)  # noqa: E731
            per_step = False
        elif family == "bert":
            model = Bert(CONFIGS["bert-base-uncased"]).eval()
            batch = torch.tensor(ids(a.batch * a.seq, 30522, 3)).view(a.batch, a.seq)
            mask = torch.ones_like(batch)
            call = lambda: model(batch, mask)  # noqa: E731
            per_step = False
        else:
            raise SystemExit(f"unknown task {a.task}")
        call()  # warm-up
        runs, cpu = [], []
        for _ in range(a.runs):
            t, c = time.perf_counter(), time.process_time()
            r = call()
            ms, cpu_ms = (time.perf_counter() - t) * 1e3, (time.process_time() - c) * 1e3
            runs.append(r[0] if per_step else ms)
            cpu.append(r[1] if per_step else cpu_ms)
    out = {"task": a.task, "threads": a.threads, "torch": torch.__version__, "runs": runs, "cpu": cpu}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
