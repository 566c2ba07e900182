# The PyTorch anchor of the llama benchmark (bench/suites/llama.bench.ts): a plain PyTorch LLaMA written from
# the math of transformers' modeling_llama.py (RMSNorm, rotate_half rotary embeddings, grouped-query attention
# by repeat_kv, SwiGLU, tied or untied head) over a checkpoint folder the suite wrote (config.json and
# model.safetensors in Hugging Face's names, float32). No transformers needed: Debian's python3-torch.
#
#   python3 torch-llama.py <dir> <threads> <prompt ids> <new tokens> <training sequence ids>   (ids comma-separated)
#
# Prints one JSON object: load seconds, greedy tokens and timings (prompt + new tokens with a KV cache), the
# first logits of the prompt's last position, and a training step's seconds (AdamW, batch 1: the median of
# steps 2 and 3) with its losses, or its error.
# Threads: torch.set_num_threads(threads); the suite also sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS.
import json
import math
import struct
import sys
import time

import numpy as np
import torch


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f'{name}: dtype {info["dtype"]}, expected F32')
        a, b = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data, dtype='<f4', count=(b - a) // 4, offset=a).copy()).reshape(info['shape'])
    return out


class Llama(torch.nn.Module):
    def __init__(self, c, w):
        super().__init__()
        self.c = c
        self.H = c['num_attention_heads']
        self.Hkv = c.get('num_key_value_heads') or self.H
        self.D = c.get('head_dim') or c['hidden_size'] // self.H
        self.eps = c.get('rms_norm_eps', 1e-6)
        self.p = torch.nn.ParameterDict({k.replace('.', '__'): torch.nn.Parameter(v) for k, v in w.items()})
        half = self.D // 2
        inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, self.D, 2, dtype=torch.int64).float() / self.D))
        pos = torch.arange(c['max_position_embeddings'], dtype=torch.float32)
        freqs = torch.outer(pos, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()
        assert half * 2 == self.D

    def w(self, name):
        return self.p[name.replace('.', '__')]

    def b(self, name):
        key = name.replace('.', '__')
        return self.p[key] if key in self.p else None

    def rms(self, x, name):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.w(name) * (x * torch.rsqrt(v + self.eps))

    @staticmethod
    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, ids, caches=None, start=0):
        B, T = ids.shape
        x = torch.nn.functional.embedding(ids, self.w('model.embed_tokens.weight'))
        cos = self.cos[start:start + T][None, None]
        sin = self.sin[start:start + T][None, None]
        for l in range(self.c['num_hidden_layers']):
            p = f'model.layers.{l}'
            h = self.rms(x, f'{p}.input_layernorm.weight')
            proj = lambda n, y=h: torch.nn.functional.linear(y, self.w(f'{p}.{n}.weight'), self.b(f'{p}.{n}.bias'))
            q = proj('self_attn.q_proj').view(B, T, self.H, self.D).transpose(1, 2)
            k = proj('self_attn.k_proj').view(B, T, self.Hkv, self.D).transpose(1, 2)
            v = proj('self_attn.v_proj').view(B, T, self.Hkv, self.D).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if caches is not None:
                if len(caches) > l:
                    k = torch.cat((caches[l][0], k), dim=2)
                    v = torch.cat((caches[l][1], v), dim=2)
                    caches[l] = (k, v)
                else:
                    caches.append((k, v))
            rep = self.H // self.Hkv
            kr = k.repeat_interleave(rep, dim=1)
            vr = v.repeat_interleave(rep, dim=1)
            S = kr.shape[2]
            att = (q @ kr.transpose(2, 3)) / math.sqrt(self.D)
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float('-inf')).softmax(-1)
            o = (att @ vr).transpose(1, 2).reshape(B, T, self.H * self.D)
            x = x + proj('self_attn.o_proj', o)
            h2 = self.rms(x, f'{p}.post_attention_layernorm.weight')
            g = proj('mlp.gate_proj', h2)
            u = proj('mlp.up_proj', h2)
            x = x + proj('mlp.down_proj', torch.nn.functional.silu(g) * u)
        x = self.rms(x, 'model.norm.weight')
        head = self.b('lm_head.weight')
        return torch.nn.functional.linear(x, head if head is not None else self.w('model.embed_tokens.weight'))


def main():
    folder, threads, prompt, new, train = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with open(f'{folder}/config.json') as f:
        c = json.load(f)
    model = Llama(c, load_safetensors(f'{folder}/model.safetensors'))
    load_s = time.perf_counter() - t0
    ids = torch.tensor([[int(x) for x in prompt.split(',')]])
    out = {'threads': threads, 'torch': torch.__version__, 'loadSeconds': load_s}
    with torch.no_grad():
        runs = []
        for r in range(2):
            caches = []
            t0 = time.perf_counter()
            logits = model(ids, caches, 0)
            first = logits[0, -1, :8].tolist()
            tok = int(logits[0, -1].argmax())
            tokens, steps, last = [tok], [], time.perf_counter()
            pos = ids.shape[1]
            for _ in range(new - 1):
                logits = model(torch.tensor([[tok]]), caches, pos)
                pos += 1
                tok = int(logits[0, -1].argmax())
                tokens.append(tok)
                now = time.perf_counter()
                steps.append(now - last)
                last = now
            runs.append((time.perf_counter() - t0, sorted(steps)[len(steps) // 2], tokens, first))
        total, step, tokens, first = runs[-1]
        out.update({
            'tokens': tokens,
            'firstLogits': first,
            'generateTokensPerSecond': new / total,
            'cachedStepTokensPerSecond': 1 / step,
        })
    try:
        seq = torch.tensor([[int(x) for x in train.split(',')]])
        train_len = seq.shape[1] - 1
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
        times, losses = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            logits = model(seq[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
            losses.append(float(loss))
        step_s = sum(times[1:]) / 2
        out.update({'trainStepSeconds': step_s, 'trainTokensPerSecond': train_len / step_s, 'trainLosses': losses})
    except RuntimeError as e:  # out of memory
        out['trainError'] = str(e).split('\n')[0]
    print(json.dumps(out))


main()
