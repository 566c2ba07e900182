# PyTorch's side of bench/suites/real-size-train.bench.ts: full fine-tuning steps of GPT-2 small (causal LM)
# and BERT-base (sequence classification), float32, written in plain PyTorch the way Hugging Face's modeling
# code runs them (no transformers package), with the same optimizer as the simdformer side: AdamW (betas
# 0.9/0.999, eps 1e-8, weight decay 0), global-norm clipping to 1, constant learning rate, dropout off.
# The modules' parameter names are Hugging Face's, so `--weights model.safetensors` (written by simdformer's
# model.save) loads with load_state_dict(strict=True): every name and shape checked.
#
#   python3 pytorch-train-real-size.py job.json
#
# job.json: {"task": "gpt2"|"bert", "threads", "batch", "seq", "steps", "lossSteps"?, "lr", "weights"?,
#            "batches": [{"ids": [...], "labels": [...]}, ...]}
# Prints one JSON line: {"ms": [...], "cpuMs": [...], "losses": [...], "peakRssBytes", "torch"}.
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{name}: {t['dtype']}"
        a, b = t["data_offsets"]
        arr = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=np.float32).reshape(t["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def heads(x, h):  # [B, T, h·D] → [B, h, T, D]
    B, T, C = x.shape
    return x.view(B, T, h, C // h).transpose(1, 2)


def merge(x):  # [B, h, T, D] → [B, T, h·D]
    B, h, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, h * D)


class Conv1D(nn.Module):  # weight [in, out], y = b + x·W (GPT-2's transposed linear)
    def __init__(self, i, o):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(i, o) * 0.02)
        self.bias = nn.Parameter(torch.zeros(o))

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(*x.shape[:-1], -1)


class GPT2Attention(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.c_attn, self.c_proj = Conv1D(d, 3 * d), Conv1D(d, d)

    def forward(self, x):
        q, k, v = self.c_attn(x).split(x.shape[-1], dim=2)
        q, k, v = heads(q, self.h), heads(k, self.h), heads(v, self.h)
        s = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        T = x.shape[1]
        keep = torch.ones(T, T, dtype=torch.bool).tril()
        s = s.masked_fill(~keep, torch.finfo(s.dtype).min)
        return self.c_proj(merge(torch.matmul(F.softmax(s, dim=-1), v)))


class GPT2MLP(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.c_fc, self.c_proj = Conv1D(d, ff), Conv1D(ff, d)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d, 1e-5), nn.LayerNorm(d, 1e-5)
        self.attn, self.mlp = GPT2Attention(d, h), GPT2MLP(d, 4 * d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Transformer(nn.Module):
    def __init__(self, vocab=50257, d=768, layers=12, h=12, positions=1024):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(positions, d)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList(GPT2Block(d, h) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, 1e-5)


class GPT2LMHeadModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = GPT2Transformer()

    def loss(self, ids, labels):
        t = self.transformer
        x = t.wte(ids) + t.wpe(torch.arange(ids.shape[1]))
        for block in t.h:
            x = block(x)
        logits = F.linear(t.ln_f(x), t.wte.weight)  # the tied head
        V = logits.shape[-1]
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1))


class Dense(nn.Module):
    def __init__(self, i, o, norm=False):
        super().__init__()
        self.dense = nn.Linear(i, o)
        nn.init.normal_(self.dense.weight, std=0.02)
        nn.init.zeros_(self.dense.bias)
        if norm:
            self.LayerNorm = nn.LayerNorm(o, 1e-12)


class BertSelfAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)


class BertAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.self, self.output = BertSelfAttention(d), Dense(d, d, norm=True)


class BertLayer(nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.h = h
        self.attention = BertAttention(d)
        self.intermediate, self.output = Dense(d, ff), Dense(ff, d, norm=True)

    def forward(self, x):
        s = self.attention.self
        q, k, v = heads(s.query(x), self.h), heads(s.key(x), self.h), heads(s.value(x), self.h)
        p = F.softmax(torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5, dim=-1)
        o = self.attention.output
        x = o.LayerNorm(x + o.dense(merge(torch.matmul(p, v))))
        return self.output.LayerNorm(x + self.output.dense(F.gelu(self.intermediate.dense(x))))


class BertEmbeddings(nn.Module):
    def __init__(self, vocab, d, positions):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(positions, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.LayerNorm = nn.LayerNorm(d, 1e-12)


class BertEncoder(nn.Module):
    def __init__(self, d, h, ff, layers):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(d, h, ff) for _ in range(layers))


class BertModel(nn.Module):
    def __init__(self, vocab=30522, d=768, layers=12, h=12, ff=3072, positions=512):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, d, positions)
        self.encoder = BertEncoder(d, h, ff, layers)
        self.pooler = Dense(d, d)


class BertForSequenceClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = BertModel()
        self.classifier = nn.Linear(768, 2)

    def loss(self, ids, labels):
        b, e = self.bert, self.bert.embeddings
        T = ids.shape[1]
        x = e.word_embeddings(ids) + e.position_embeddings(torch.arange(T)) + e.token_type_embeddings.weight[0]
        x = e.LayerNorm(x)
        for layer in b.encoder.layer:
            x = layer(x)
        logits = self.classifier(torch.tanh(b.pooler.dense(x[:, 0])))
        return F.cross_entropy(logits, labels)


def main():
    job = json.load(open(sys.argv[1]))
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    model = GPT2LMHeadModel() if job["task"] == "gpt2" else BertForSequenceClassification()
    if job.get("weights"):
        model.load_state_dict(read_safetensors(job["weights"]), strict=True)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=job["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    B, T = job["batch"], job["seq"]
    batches = job["batches"]
    loss_steps = job.get("lossSteps")
    n = loss_steps or job["steps"] + 1
    out = {"ms": [], "cpuMs": [], "losses": [], "torch": torch.__version__}
    for s in range(n):
        b = batches[s % len(batches)]
        ids = torch.tensor(b["ids"], dtype=torch.long).view(B, T)
        labels = torch.tensor(b["labels"], dtype=torch.long)
        labels = labels.view(B, T) if job["task"] == "gpt2" else labels
        t, c = time.perf_counter(), time.process_time()
        loss = model.loss(ids, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        out["losses"].append(loss.item())
        if not loss_steps and s > 0:
            out["ms"].append((time.perf_counter() - t) * 1e3)
            out["cpuMs"].append((time.process_time() - c) * 1e3)
    out["peakRssBytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
