#!/usr/bin/python3
"""PyTorch reference of gendec's decomposing c-VAE (include/gendec/model.h) and of its Eq. 3 classifier
(include/gendec/infer.h), for the numerics check and the side-by-side benchmark (bench/run).

The model is built from gendec's architecture signature (ckpt/arch of a model.h5 / bench dump, "cvae arch=mlp
h=28 ..."), with the parameters in gd_params order and shapes, so that ckpt/params (one flat float32 block) loads
by slicing. Loss, reductions and the solver follow the headers:
  loss_b = R_b + C K_b, R_b a per-image SUM over pixels (mse: squared error of x_f = sum_i y_i out_i; bce_logits:
  BCE-with-logits of L = sum_i y_i out_i), KL_i a SUM over the k latents, K_b = sum_i y_i KL_i (gated) or the mean
  over i (mean); a training step minimises the MEAN of loss_b over the batch (torch.optim.Adam, defaults).
  Eq. 3: F = mean_p (Sig(x_f) - Sig(x))^2 + c sum_i y_i, Sig(v) = sigmoid(beta v + b); Adam (the solver's own
  float32 form) on z and y, y projected onto [0, 1] after each step, the best iterate kept; Eq. 2 refinement:
  z-only Adam on mean_p (x_f - x)^2 for every candidate y of the enumeration rule.

Commands (run with /usr/bin/python3: Debian's python3-torch, python3-h5py, python3-numpy):
  reference.py check DUMP.h5           compare with `gendec bench dump` (exit 1 on a mismatch)
  reference.py train --arch A --batch B --seconds S     training images/s (one JSON line)
  reference.py classify --model M.h5 --batch B --n N    classification images/s (one JSON line)
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F


# ---- architecture ---------------------------------------------------------------------------------------------

def parse_signature(text):
    """gd_cvae_spec_format's signature (with or without the leading "cvae ") -> dict."""
    if isinstance(text, bytes):
        text = text.decode()
    text = text.strip()
    if text.startswith("cvae "):
        text = text[5:]
    s = {}
    for tok in text.split():
        key, val = tok.split("=", 1)
        if key in ("arch", "recon", "kl", "act"):
            s[key] = val
        elif key == "C":
            s[key] = float(val)
        elif key in ("enc", "dec", "ch"):
            s[key] = [int(v) for v in val.split(",")]
        else:
            s[key] = int(val)
    return s


def default_signature(arch):
    """The paper's MNIST model (gd_cvae_spec_default(28, 28, 10)) as a signature."""
    base = "arch=%s h=28 w=28 n=10 k=4 recon=mse kl=gated C=1 act=relu" % arch
    if arch == "mlp":
        return base + " enc=512,256 dec=256,512"
    return base + " ch=16,32,64 kernel=3 dec_start=4 out_kernel=5"


def conv_out(side, kernel):
    return (side + 2 * ((kernel - 1) // 2) - kernel) // 2 + 1


def layout(s):
    """[(name, shape)] of the parameter views in gd_params order (src/model/cvae.c build_layout)."""
    n, k, D, nk = s["n"], s["k"], s["h"] * s["w"], s["n"] * s["k"]
    v = []
    if s["arch"] == "mlp":
        inp = D
        for l, width in enumerate(s["enc"]):
            v += [("enc.fc%d.w" % l, (width, inp)), ("enc.fc%d.b" % l, (width,))]
            inp = width
        feat = inp
    else:
        c, h, kc = 1, s["h"], s["kernel"]
        for l, ch in enumerate(s["ch"]):
            v += [("enc.conv%d.w" % l, (ch, c, kc, kc)), ("enc.conv%d.b" % l, (ch,))]
            c, h = ch, conv_out(h, kc)
        feat = c * h * h
    v += [("enc.mu.w", (nk, feat)), ("enc.mu.b", (nk,)), ("enc.lv.w", (nk, feat)), ("enc.lv.b", (nk,))]
    if s["arch"] == "mlp":
        inp = k
        widths = s["dec"] + [D]
        for l, out in enumerate(widths):
            v += [("dec.fc%d.w" % l, (n, out, inp)), ("dec.fc%d.b" % l, (n, out))]
            inp = out
    else:
        L, S, kc, ko = len(s["ch"]), s["dec_start"], s["kernel"], s["out_kernel"]
        c = s["ch"][-1]
        v += [("dec.fc.w", (n, c * S * S, k)), ("dec.fc.b", (n, c * S * S))]
        for j in range(L):
            cout = s["ch"][L - 1 - j]
            v += [("dec.deconv%d.w" % j, (n * c, cout, kc, kc)), ("dec.deconv%d.b" % j, (n, cout))]
            c = cout
        v += [("dec.out.w", (n, c, ko, ko)), ("dec.out.b", (n, 1))]  # n stacked Conv2d weights (1, c, ko, ko)
    return v


class CVAE(torch.nn.Module):
    """gendec's c-VAE with the same parameters (one tensor per gd_params view, same shape and order).
    split=True stores every decoder view as n separate tensors instead (decoder i's own nn.Linear / ConvTranspose2d
    weights, as a ModuleList of decoders would): routed decoders then touch only their own gradients."""

    def __init__(self, spec, split=False):
        super().__init__()
        self.s = spec
        self.n, self.k = spec["n"], spec["k"]
        self.nk, self.D = self.n * self.k, spec["h"] * spec["w"]
        self.views = layout(spec)
        self.split = split
        tensors, self.slots = [], {}
        for name, shape in self.views:
            parts = self.n if split and name.startswith("dec.") else 1
            self.slots[name] = list(range(len(tensors), len(tensors) + parts))
            tensors += [torch.zeros((shape[0] // parts,) + tuple(shape[1:])) for _ in range(parts)]
        self.p = torch.nn.ParameterList([torch.nn.Parameter(t) for t in tensors])
        self.act = F.elu if spec["act"] == "elu" else F.relu
        if spec["arch"] == "conv":
            L, S, kc, ko = len(spec["ch"]), spec["dec_start"], spec["kernel"], spec["out_kernel"]
            self.pad = (kc - 1) // 2
            self.out_pad = 2 + 2 * self.pad - kc
            side = S << L
            self.final_pad = 0 if side - (ko - 1) == spec["h"] else (ko - 1) // 2

    def P(self, name):
        """The whole view (decoder views stacked over the n decoders)."""
        sl = self.slots[name]
        return self.p[sl[0]] if len(sl) == 1 else torch.cat([self.p[i] for i in sl], 0)

    def W(self, name, g):
        """Decoder g's part of a decoder view (the leading n dropped when the view is (n, ...))."""
        sl = self.slots[name]
        if len(sl) == 1:
            t = self.p[sl[0]]
            c = t.shape[0] // self.n
            part = t.narrow(0, g * c, c)
        else:
            part = self.p[sl[g]]
        return part[0] if part.shape[0] == 1 and len(part.shape) <= 3 else part

    def count(self):
        return sum(int(np.prod(shape)) for _, shape in self.views)

    def load_flat(self, flat):
        flat = np.asarray(flat, dtype=np.float32)
        if flat.size != self.count():
            raise ValueError("ckpt/params has %d floats, the architecture %d" % (flat.size, self.count()))
        off = 0
        with torch.no_grad():
            for q in self.p:  # tensors in gd_params order; a split view's parts are consecutive
                cnt = q.numel()
                q.copy_(torch.from_numpy(flat[off:off + cnt].reshape(q.shape)))
                off += cnt

    def flat(self):
        return torch.cat([q.detach().reshape(-1) for q in self.p]).numpy()

    def flat_grad(self):
        return torch.cat([(q.grad if q.grad is not None else torch.zeros_like(q)).reshape(-1) for q in self.p]).numpy()

    # -- encoder
    def encode(self, x):
        s = self.s
        if s["arch"] == "mlp":
            h = x
            for l in range(len(s["enc"])):
                h = self.act(F.linear(h, self.P("enc.fc%d.w" % l), self.P("enc.fc%d.b" % l)))
        else:
            h = x.view(-1, 1, s["h"], s["w"])
            for l in range(len(s["ch"])):
                h = self.act(F.conv2d(h, self.P("enc.conv%d.w" % l), self.P("enc.conv%d.b" % l), stride=2,
                                      padding=self.pad))
            h = h.flatten(1)
        return F.linear(h, self.P("enc.mu.w"), self.P("enc.mu.b")), F.linear(h, self.P("enc.lv.w"), self.P("enc.lv.b"))

    # -- decoders: every decoder on every row (batched over the n decoders)
    def decode_parts(self, z):
        """out (B, n, D): decoder i on z_i for every row (n batched GEMMs / grouped convolutions)."""
        s, n, k, B = self.s, self.n, self.k, z.shape[0]
        zi = z.view(B, n, k).transpose(0, 1)  # (n, B, k)
        if s["arch"] == "mlp":
            h = zi
            L = len(s["dec"]) + 1
            for l in range(L):
                w, b = self.P("dec.fc%d.w" % l), self.P("dec.fc%d.b" % l)
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
                if l < L - 1:
                    h = self.act(h)
            return self.out_act(h.transpose(0, 1))
        S, L = s["dec_start"], len(s["ch"])
        c = s["ch"][-1]
        h = self.act(torch.baddbmm(self.P("dec.fc.b").unsqueeze(1), zi, self.P("dec.fc.w").transpose(1, 2)))
        h = h.transpose(0, 1).reshape(B, n * c, S, S)
        for j in range(L):
            h = self.act(F.conv_transpose2d(h, self.P("dec.deconv%d.w" % j), self.P("dec.deconv%d.b" % j).reshape(-1),
                                            stride=2, padding=self.pad, output_padding=self.out_pad, groups=n))
            c = s["ch"][L - 1 - j]
        ko = s["out_kernel"]
        w = self.P("dec.out.w").view(n, c, ko, ko)
        out = F.conv2d(h, w, self.P("dec.out.b").reshape(-1), stride=1, padding=self.final_pad, groups=n)
        return self.out_act(out.reshape(B, n, self.D))

    def decode_one(self, g, zg):
        """Decoder g on rows zg (R, k) -> (R, D)."""
        s = self.s
        if s["arch"] == "mlp":
            h = zg
            L = len(s["dec"]) + 1
            for l in range(L):
                h = F.linear(h, self.W("dec.fc%d.w" % l, g), self.W("dec.fc%d.b" % l, g))
                if l < L - 1:
                    h = self.act(h)
            return self.out_act(h)
        S, L, n = s["dec_start"], len(s["ch"]), self.n
        c = s["ch"][-1]
        h = self.act(F.linear(zg, self.W("dec.fc.w", g), self.W("dec.fc.b", g))).view(-1, c, S, S)
        for j in range(L):
            h = self.act(F.conv_transpose2d(h, self.W("dec.deconv%d.w" % j, g), self.W("dec.deconv%d.b" % j, g),
                                            stride=2, padding=self.pad, output_padding=self.out_pad))
        w = self.W("dec.out.w", g)  # (1, c, ko, ko)
        return self.out_act(F.conv2d(h, w.view(1, *w.shape[-3:]), self.W("dec.out.b", g).reshape(1), stride=1,
                                     padding=self.final_pad).flatten(1))

    def out_act(self, out):
        """A decoder's image: its last layer's output, through a sigmoid for recon mse_sigmoid."""
        return torch.sigmoid(out) if self.s["recon"] == "mse_sigmoid" else out

    def combine(self, z, y, mode, rows=None):
        """x_f (mse) or the logits L (bce) = sum_i y_i Dec_i(z_i), (B, D).
        mode "all": every decoder on every row, batched; "loop": the same, one decoder after the other; "routed":
        decoder i only on the rows with y_i != 0
        (rows: optional precomputed [(i, index tensor)])."""
        if mode == "all":
            return torch.einsum("bnd,bn->bd", self.decode_parts(z), y)
        if mode == "loop":  # every decoder on every row, one decoder at a time
            out = None
            for g in range(self.n):
                part = self.decode_one(g, z[:, g * self.k:(g + 1) * self.k]) * y[:, g:g + 1]
                out = part if out is None else out + part
            return out
        B = z.shape[0]
        out = z.new_zeros(B, self.D)
        if rows is None:
            rows = routes(y)
        for g, idx in rows:
            part = self.decode_one(g, z[idx, g * self.k:(g + 1) * self.k])
            out = out.index_add(0, idx, part * y[idx, g:g + 1])
        return out

    def loss_terms(self, x, y, eps, mode="routed", rows=None):
        """Means over the batch of loss_b, R_b, K_b (model.h)."""
        mu, lv = self.encode(x)
        z = mu + torch.exp(lv / 2) * eps
        xf = self.combine(z, y, mode, rows)
        if self.s["recon"] != "bce_logits":
            R = ((xf - x) ** 2).sum(1)
        else:
            R = F.binary_cross_entropy_with_logits(xf, x, reduction="none").sum(1)
        B = x.shape[0]
        kl = (-0.5 * (1 + lv - mu * mu - torch.exp(lv))).view(B, self.n, self.k).sum(2)  # (B, n)
        K = (y * kl).sum(1) if self.s["kl"] == "gated" else kl.mean(1)
        loss = R + self.s["C"] * K
        return loss.mean(), R.mean(), K.mean()

    def generate(self, z, y, mode):
        """The generator of infer: x_f = sum y_i out_i (mse; out_i through a sigmoid for mse_sigmoid) or sigmoid of
        it (bce_logits)."""
        v = self.combine(z, y, mode)
        return v if self.s["recon"] != "bce_logits" else torch.sigmoid(v)


def routes(y):
    """[(i, rows with y_i != 0)] for the routed decoders."""
    nz = (y != 0).t()
    return [(g, torch.nonzero(nz[g]).flatten()) for g in range(y.shape[1]) if bool(nz[g].any())]


def load_model(path):
    with h5py.File(path, "r") as f:
        arch = f["ckpt"].attrs["arch"]
        flat = f["ckpt/params"][()]
    m = CVAE(parse_signature(arch))
    m.load_flat(flat)
    return m


# ---- the classifier (infer.h defaults) ----------------------------------------------------------------------

class InferOpts:
    steps = 50
    lr = 0.01
    y0 = 0.5
    beta, b = 5.0, -2.0
    c = 0.005
    l = 0.2
    yl, yu = 0.3, 0.6
    max_ambiguous = 10
    refine_steps = 50


def adam_f32(w, g, m, v, lr, b1t, b2t):
    """The solver's Adam (src/infer/solver.c), in place, float32 throughout."""
    c1 = np.float32(1.0) / (np.float32(1.0) - b1t)
    c2 = np.float32(1.0) / (np.float32(1.0) - b2t)
    m.mul_(np.float32(0.9)).add_(g * np.float32(1.0 - np.float32(0.9)))
    v.mul_(np.float32(0.999)).add_(g * g * np.float32(np.float32(1.0) - np.float32(0.999)))
    w.sub_(np.float32(lr) * (m * float(c1)) / (torch.sqrt(v * float(c2)) + np.float32(1e-8)))


def eq3_solve(model, x, o, trace=False, mode="all"):
    """Batched Eq. 3 from z0 = encoder mean, y0: returns the best (z*, y*, F*) per row, and the trajectory."""
    with torch.no_grad():
        z = model.encode(x)[0].clone()
        tgt = torch.sigmoid(o.beta * x + o.b)
    y = torch.full((x.shape[0], model.n), o.y0)
    mz, vz, my, vy = torch.zeros_like(z), torch.zeros_like(z), torch.zeros_like(y), torch.zeros_like(y)
    best = torch.full((x.shape[0],), math.inf)
    zb, yb = z.clone(), y.clone()
    traj = []
    b1t = b2t = np.float32(1.0)
    for t in range(o.steps + 1):
        z.requires_grad_(True)
        y.requires_grad_(True)
        xf = model.generate(z, y, mode)
        Frow = ((torch.sigmoid(o.beta * xf + o.b) - tgt) ** 2).mean(1) + o.c * y.sum(1)  # y >= 0: |y| = y
        with torch.no_grad():
            better = Frow < best
            best = torch.where(better, Frow, best)
            zb[better], yb[better] = z[better], y[better]
            if trace:
                traj.append((z.detach().clone(), y.detach().clone(), Frow.detach().clone()))
        if t == o.steps:
            break
        dz, dy = torch.autograd.grad(Frow.sum(), [z, y])
        with torch.no_grad():
            z, y = z.detach(), y.detach()
            b1t, b2t = np.float32(b1t * np.float32(0.9)), np.float32(b2t * np.float32(0.999))
            adam_f32(z, dz, mz, vz, o.lr, b1t, b2t)
            adam_f32(y, dy, my, vy, o.lr, b1t, b2t)
            y.clamp_(0.0, 1.0)
    return zb, yb, best, traj


def refine(model, x, zstart, masks_f, img, o, cap, mode, trace=None):
    """z-only Adam on mean_p (x_f - x)^2 for candidate rows (img, mask): best loss and z per row. trace: a list
    that receives (z, loss) of every iterate (rows of one piece only)."""
    M = len(img)
    loss = torch.empty(M)
    zout = torch.empty(M, model.nk)
    for r0 in range(0, M, cap):
        sl = slice(r0, min(M, r0 + cap))
        rows_img = img[sl]
        z = zstart[rows_img].clone()
        y = masks_f[sl]
        tgt = x[rows_img]
        rt = routes(y) if mode == "routed" else None
        m, v = torch.zeros_like(z), torch.zeros_like(z)
        best = torch.full((z.shape[0],), math.inf)
        zb = z.clone()
        b1t = b2t = np.float32(1.0)
        for t in range(o.refine_steps + 1):
            z.requires_grad_(True)
            if model.s["recon"] != "bce_logits":
                xf = model.combine(z, y, mode, rt)
            else:
                xf = torch.sigmoid(model.combine(z, y, mode, rt))
            Frow = ((xf - tgt) ** 2).mean(1)
            with torch.no_grad():
                better = Frow < best
                best = torch.where(better, Frow, best)
                zb[better] = z[better]
                if trace is not None:
                    trace.append((z.detach().clone(), Frow.detach().clone()))
            if t == o.refine_steps:
                break
            if Frow.requires_grad:
                (dz,) = torch.autograd.grad(Frow.sum(), [z])
            else:  # no decoder switched on (the all-zero candidate): F does not depend on z
                dz = torch.zeros_like(z)
            with torch.no_grad():
                z = z.detach()
                b1t, b2t = np.float32(b1t * np.float32(0.9)), np.float32(b2t * np.float32(0.999))
                adam_f32(z, dz, m, v, o.lr, b1t, b2t)
        loss[sl] = best
        zout[sl] = zb
    return loss, zout


def candidates(o, y):
    """The enumeration rule's candidate masks for one image's relaxed y (gd_infer_candidates)."""
    n = len(y)
    ones = 0
    amb = []
    for i in range(n):
        if y[i] > o.yu:
            ones |= 1 << i
        elif not (y[i] < o.yl):
            amb.append(i)
    na = len(amb)
    if na > o.max_ambiguous:
        order = sorted(amb, key=lambda i: (-y[i], i))[:o.max_ambiguous]
        amb = sorted(order)
    out = []
    for c in range(1 << len(amb)):
        m = ones
        for a, i in enumerate(amb):
            if c >> a & 1:
                m |= 1 << i
        out.append(m)
    return out, na


def classify(model, x, o, cap, refine_mode, eq3_mode="all"):
    """solve + decide for one chunk of images: decisions (bit masks, -1 = noise) and the Eq. 2 losses."""
    zs, ys, F3, _ = eq3_solve(model, x, o, mode=eq3_mode)
    ynp = ys.numpy()
    img, masks = [], []
    noise = (~(F3 <= o.l)).numpy()
    for b in range(x.shape[0]):
        if noise[b]:
            continue
        cs, _ = candidates(o, ynp[b])
        img += [b] * len(cs)
        masks += cs
    dec = [-1] * x.shape[0]
    loss2 = [float("nan")] * x.shape[0]
    if img:
        bits = torch.tensor([[(mk >> i) & 1 for i in range(model.n)] for mk in masks], dtype=torch.float32)
        L2, _ = refine(model, x, zs, bits, torch.tensor(img), o, cap, refine_mode)
        L2 = L2.numpy()
        j = 0
        while j < len(img):
            b, e = img[j], j
            while e < len(img) and img[e] == b:
                e += 1
            best = j + int(np.argmin(L2[j:e]))  # first on ties
            dec[b], loss2[b] = masks[best], float(L2[best])
            j = e
    return dec, loss2


# ---- the numerics check ------------------------------------------------------------------------------------

class Checker:
    def __init__(self):
        self.failures = 0

    def report(self, what, err, tol, detail=""):
        ok = err <= tol
        self.failures += not ok
        print("  %-56s %10.3g  (tolerance %.1g) %s%s" % (what, err, tol, "ok" if ok else "FAIL", detail))


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


class KinkReLU:
    """F.relu that records its inputs (flattened) and can flip its derivative at chosen units: flips = [(call, unit)],
    call counting the activations of one forward pass in order."""

    def __init__(self, flips=()):
        self.pre, self.flips = [], {}
        for l, i in flips:
            self.flips.setdefault(l, []).append(i)

    def __call__(self, h):
        l = len(self.pre)
        self.pre.append(h.detach().flatten())
        mask = (h.detach() > 0).to(h.dtype)
        if l in self.flips:
            m = mask.flatten().clone()
            i = torch.tensor(self.flips[l])
            m[i] = 1 - m[i]
            mask = m.view_as(mask)
        return h * mask


def eq3_dz(model, z, y, tgt, o, flips=()):
    """dF/dz of Eq. 3 for the rows z (R, nk), y (R, n) with the decoders' ReLU derivative flipped at `flips`; also the
    ReLU inputs of the forward pass."""
    act, model.act = model.act, KinkReLU(flips)
    try:
        z = z.clone().requires_grad_(True)
        xf = model.generate(z, y, "all")
        Frow = ((torch.sigmoid(o.beta * xf + o.b) - tgt) ** 2).mean(1) + o.c * y.sum(1)
        return torch.autograd.grad(Frow.sum(), [z])[0].numpy(), model.act.pre
    finally:
        model.act = act


def kink_error(model, z, y, tgt, o, dz_gd, scale, rel_tol=1e-6, most=4):
    """A row of dF/dz that disagrees may sit on a ReLU kink: a unit whose input is 0 within float32 rounding (at most
    rel_tol of its layer's largest input) has a derivative of 0 or 1 depending on the summation order. The smallest
    error over flipping the derivative at every subset of the `most` nearest such units, or None when there are none."""
    _, pre = eq3_dz(model, z, y, tgt, o)
    near = []
    for l, p in enumerate(pre):
        a = p.abs()
        sc = float(a.max())
        for i in torch.nonzero(a <= rel_tol * sc).flatten().tolist():
            near.append((float(a[i]) / sc, l, i))
    near = [(l, i) for _, l, i in sorted(near)[:most]]
    best = None
    for mask in range(1, 1 << len(near)):
        flips = [u for j, u in enumerate(near) if mask >> j & 1]
        e = float(np.abs(eq3_dz(model, z, y, tgt, o, flips)[0] - dz_gd).max()) / scale
        best = e if best is None else min(best, e)
    return best


def best_error(traj, got, got_best_F, tol_z, tol_F):
    """Max abs error of gendec's best iterate `got` (R, p) against the reference's, where traj = [(v (R, p), F (R))]
    is the reference's trajectory. The objective flattens to float32 resolution near the optimum, so which of
    several iterates is "best" can differ by one rounding: a row whose gendec iterate is within tol_z of SOME
    reference iterate whose F ties with the reference's best (relative tol_F), and whose own F ties too, counts as
    agreeing (a tie). Returns (max error over the other rows, ties)."""
    V = np.stack([v.numpy() for v, _ in traj])      # (T, R, p)
    L = np.stack([fv.numpy() for _, fv in traj])    # (T, R)
    tb = L.argmin(0)                                # first minimum, as both implementations keep
    worst, ties = 0.0, 0
    for r in range(V.shape[1]):
        e = float(np.abs(got[r] - V[tb[r], r]).max())
        if e > tol_z:
            Lb = L[tb[r], r]
            near = [t for t in range(V.shape[0]) if np.abs(got[r] - V[t, r]).max() <= tol_z and
                    abs(L[t, r] - Lb) <= tol_F * abs(Lb)]
            if near and abs(got_best_F[r] - Lb) <= tol_F * abs(Lb):
                e, ties = 0.0, ties + 1
        worst = max(worst, e)
    return worst, ties


def check(path, args):
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    f = h5py.File(path, "r")
    spec = parse_signature(f["ckpt"].attrs["arch"])
    model = CVAE(spec)
    # the layout against gendec's own list of views
    views = f.attrs["param_views"]
    views = views.decode() if isinstance(views, bytes) else views
    off = 0
    ck = Checker()
    mismatch = 0
    for (name, shape), item in zip(model.views, views.split(";")):
        gname, goff, gshape = item.split(":")
        mismatch += gname != name or int(goff) != off or tuple(int(v) for v in gshape.split("x")) != tuple(shape)
        off += int(np.prod(shape))
    mismatch += len(model.views) != len(views.split(";"))
    arch = f["ckpt"].attrs["arch"]
    print("%s: %s, %d parameters" % (path, arch.decode() if isinstance(arch, bytes) else arch, model.count()))
    ck.report("parameter layout (views differing)", mismatch, 0)
    p0 = f["ckpt/params"][()]
    model.load_flat(p0)
    x = torch.from_numpy(f["input/x"][()])
    y = torch.from_numpy(f["input/y"][()])
    eps = torch.from_numpy(f["input/eps"][()])
    B = x.shape[0]

    if "grad" in parts:
        # 1. loss terms and every parameter gradient
        terms = f["train/loss_terms"][()]
        model.zero_grad(set_to_none=True)
        loss, R, K = model.loss_terms(x, y, eps[0])
        loss.backward()
        ours = np.array([loss.item(), R.item(), K.item()])
        print("loss terms gendec %s, torch %s" % (np.array2string(terms, precision=7),
                                                 np.array2string(ours, precision=7)))
        ck.report("loss, recon, kl (max relative error)", rel(ours, terms), args.tol_loss)
        g_gd = f["train/grad"][()]
        for label, m2 in (("", model), (", split decoders", CVAE(spec, split=True))):
            if m2 is not model:  # the storage the routed benchmark trains: n tensors per decoder view
                m2.load_flat(p0)
                m2.loss_terms(x, y, eps[0])[0].backward()
            g_ref = m2.flat_grad()
            worst, wname = 0.0, ""
            off = 0
            for name, shape in model.views:
                cnt = int(np.prod(shape))
                a, b = g_gd[off:off + cnt], g_ref[off:off + cnt]
                scale = max(np.abs(b).max(), 1e-30)
                e = float(np.abs(a - b).max() / scale) if np.abs(b).max() > 0 else float(np.abs(a).max())
                if e > worst:
                    worst, wname = e, name
                off += cnt
            ck.report("gradient%s, worst view (max err / max |g|)" % label, worst, args.tol_grad, "  [%s]" % wname)
            ck.report("gradient%s, whole block (relative L2)" % label,
                      float(np.linalg.norm(g_gd - g_ref) / np.linalg.norm(g_ref)), args.tol_grad_l2)

    if "adam" in parts:
        # 2. Adam steps (torch.optim.Adam, defaults, lr 1e-3) on the same images, the noise of each step
        model.load_flat(p0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        losses_gd = f["train/adam_losses"][()]
        steps = len(losses_gd) - 1
        losses = []
        for t in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = model.loss_terms(x, y, eps[t])[0]
            loss.backward()
            losses.append(loss.item())
            opt.step()
        with torch.no_grad():
            losses.append(model.loss_terms(x, y, eps[0])[0].item())
        ck.report("%d Adam steps: losses (max relative error)" % steps, rel(losses, losses_gd), args.tol_adam_loss)
        p_gd = f["train/params_after"][()]
        p_ref = model.flat()
        d_gd, d_ref = p_gd - p0, p_ref - p0
        ck.report("%d Adam steps: weight change (relative L2)" % steps,
                  float(np.linalg.norm(d_gd - d_ref) / np.linalg.norm(d_ref)), args.tol_adam_l2)
        big = np.abs(d_gd - d_ref) > 0.1 * steps * 1e-3
        ck.report("%d Adam steps: weights off by > 10%% of max step" % steps, float(big.mean()), args.tol_adam_frac)

    if "infer" in parts:
        # 3. Eq. 3: 50 steps of (z, y), the best iterate, and the Eq. 2 refinement
        model.load_flat(p0)
        o = InferOpts()
        o.steps = int(f["infer"].attrs["steps"])
        o.refine_steps = int(f["infer"].attrs["refine_steps"])
        zt, yt, Ft = f["infer/z"][()], f["infer/y"][()], f["infer/F"][()]
        dzt, dyt = f["infer/dz"][()], f["infer/dy"][()]
        T = zt.shape[0]
        # 3a. F and its gradient at gendec's own iterates (the same points: no amplification)
        tgt = torch.sigmoid(o.beta * x + o.b)
        # Near the optimum dF/dz of a row is a sum of terms of both signs up to 10^3 times larger than the result,
        # so its errors are measured against the largest gradient of the run, the scale of those terms.
        # A row whose dF/dz disagrees only because a ReLU input is 0 within rounding (a kink: either derivative is
        # right) is compared with the derivative flipped there instead, and counted.
        eF = edz = edy = 0.0
        kinks = 0
        sz, sy = max(float(np.abs(dzt).max()), 1e-30), max(float(np.abs(dyt).max()), 1e-30)
        for t in range(T):
            z = torch.from_numpy(zt[t]).requires_grad_(True)
            yv = torch.from_numpy(yt[t]).requires_grad_(True)
            xf = model.generate(z, yv, "all")
            Frow = ((torch.sigmoid(o.beta * xf + o.b) - tgt) ** 2).mean(1) + o.c * yv.sum(1)
            dz, dy = torch.autograd.grad(Frow.sum(), [z, yv])
            eF = max(eF, rel(Frow.detach().numpy(), Ft[t]))
            ez = np.abs(dz.numpy() - dzt[t]).max(1) / sz
            if spec["act"] == "relu":
                for b in np.nonzero(ez > args.tol_grad)[0]:
                    sl = slice(int(b), int(b) + 1)
                    e = kink_error(model, torch.from_numpy(zt[t][sl]), torch.from_numpy(yt[t][sl]), tgt[sl], o,
                                   dzt[t][sl], sz)
                    if e is not None and e <= args.tol_grad:
                        ez[b], kinks = e, kinks + 1
            edz = max(edz, float(ez.max()))
            edy = max(edy, float(np.abs(dy.numpy() - dyt[t]).max()) / sy)
        ck.report("Eq. 3 at gendec's %d iterates: F (max rel error)" % T, eF, args.tol_F)
        ck.report("Eq. 3 at gendec's iterates: dF/dz (err / max|dz|)", edz, args.tol_grad,
                  "  (%d row%s at a ReLU kink)" % (kinks, "s"[kinks == 1:]))
        ck.report("Eq. 3 at gendec's iterates: dF/dy (err / max|dy|)", edy, args.tol_grad)
        # 3b. the solver's update (Adam, projection) replayed on gendec's gradients
        mz, vz, my, vy = (torch.zeros(zt.shape[1:]), torch.zeros(zt.shape[1:]), torch.zeros(yt.shape[1:]),
                          torch.zeros(yt.shape[1:]))
        b1t = b2t = np.float32(1.0)
        eu = 0.0
        for t in range(T - 1):
            z, yv = torch.from_numpy(zt[t].copy()), torch.from_numpy(yt[t].copy())
            b1t, b2t = np.float32(b1t * np.float32(0.9)), np.float32(b2t * np.float32(0.999))
            adam_f32(z, torch.from_numpy(dzt[t]), mz, vz, o.lr, b1t, b2t)
            adam_f32(yv, torch.from_numpy(dyt[t]), my, vy, o.lr, b1t, b2t)
            yv.clamp_(0.0, 1.0)
            eu = max(eu, float(np.abs(z.numpy() - zt[t + 1]).max()), float(np.abs(yv.numpy() - yt[t + 1]).max()))
        ck.report("Eq. 3 update replayed on gendec's gradients", eu, args.tol_update)
        # 3c. both iterations running freely from the same start
        zb, yb, Fb, traj = eq3_solve(model, x, o, trace=True)
        ez = max(float(np.abs(traj[t][0].numpy() - zt[t]).max()) for t in range(len(traj)))
        ey = max(float(np.abs(traj[t][1].numpy() - yt[t]).max()) for t in range(len(traj)))
        eF = max(rel(traj[t][2].numpy(), Ft[t]) for t in range(len(traj)))
        ck.report("Eq. 3, %d free steps: z (max abs error)" % o.steps, ez, args.tol_z)
        ck.report("Eq. 3, %d free steps: y (max abs error)" % o.steps, ey, args.tol_y)
        ck.report("Eq. 3, %d free steps: F (max relative error)" % o.steps, eF, args.tol_F)
        ck.report("Eq. 3 best iterate: F* (max relative error)", rel(Fb.numpy(), f["infer/loss3"][()]), args.tol_F)
        zy = [(torch.cat([zv, yv], 1), Fv) for zv, yv, Fv in traj]
        got = np.concatenate([f["infer/zstar"][()], f["infer/ystar"][()]], 1)
        e, ties = best_error(zy, got, f["infer/loss3"][()], args.tol_z, args.tol_F)
        ck.report("Eq. 3 best iterate: (z*, y*) (max abs error)", e, args.tol_z,
                  "  (%d tie%s)" % (ties, "s"[ties == 1:]))
        zstar = torch.from_numpy(f["infer/zstar"][()])
        rtrace = []
        L2, Z2 = refine(model, x, zstar, y.clone(), torch.arange(B), o, B, "routed", trace=rtrace)
        ck.report("Eq. 2 refinement, %d steps: loss (max rel error)" % o.refine_steps,
                  rel(L2.numpy(), f["infer/refine_loss"][()]), args.tol_F)
        e, ties = best_error(rtrace, f["infer/refine_z"][()], f["infer/refine_loss"][()], args.tol_z, args.tol_F)
        ck.report("Eq. 2 refinement: best z (max abs error)", e, args.tol_z, "  (%d tie%s)" % (ties, "s"[ties == 1:]))
    f.close()
    print("%s: %s" % (path, "all checks passed" if ck.failures == 0 else "%d check(s) FAILED" % ck.failures))
    return 0 if ck.failures == 0 else 1


# ---- benchmarks -------------------------------------------------------------------------------------------

def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    spec = parse_signature(default_signature(args.arch) if not args.spec else args.spec)
    model = CVAE(spec, split=args.decoders == "routed")
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for q in model.p:  # PyTorch's default rule, U(+-1/sqrt(fan_in))
            q.uniform_(-0.05, 0.05, generator=g)
    N = 4096
    X = torch.rand(N, model.D, generator=g)
    labels = torch.randint(0, model.n, (N,), generator=g)
    Y = F.one_hot(labels, model.n).float()
    kw = {"lr": 1e-3}
    if args.foreach:
        kw["foreach"] = True
    opt = torch.optim.Adam(model.parameters(), **kw)
    B = args.batch

    def step(i, perm):
        idx = perm[(i * B) % (N - B + 1):][:B]
        x, y = X[idx], Y[idx]
        eps = torch.randn(B, model.nk)
        opt.zero_grad(set_to_none=True)
        loss = model.loss_terms(x, y, eps, args.decoders)[0]
        loss.backward()
        opt.step()
        return loss

    perm = torch.randperm(N, generator=g)
    t0 = time.perf_counter()
    for i in range(3):
        step(i, perm)
    per = (time.perf_counter() - t0) / 3
    steps = max(5, int(args.seconds / max(per, 1e-6)))
    t0, c0 = time.perf_counter(), time.process_time()
    i = 0
    while i < steps or time.perf_counter() - t0 < args.seconds:
        if (i * B) % N < B:
            perm = torch.randperm(N, generator=g)
        loss = step(i, perm)
        i += 1
    steps = i
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"impl": "pytorch", "task": "train", "arch": spec["arch"], "batch": B, "threads": args.threads,
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""), "decoders": args.decoders,
            "foreach": bool(args.foreach), "images_per_s": steps * B / dt, "steps": steps, "seconds": dt,
            "cpu_seconds": cpu, "images_per_cpu_s": steps * B / cpu, "loss": float(loss), "rss_mib": rss_mib()}


def read_idx_images(path, n):
    with open(path, "rb") as fh:
        head = np.frombuffer(fh.read(16), dtype=">u4")
        if head[0] != 2051:
            raise ValueError("%s is not an idx3 image file" % path)
        rows, cols = int(head[2]), int(head[3])
        data = np.frombuffer(fh.read(n * rows * cols), dtype=np.uint8)
    return data.reshape(n, rows * cols).astype(np.float32) / 255.0


def bench_classify(args):
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    model.requires_grad_(False)  # inference: gradients with respect to (z, y) only
    if args.images and os.path.exists(args.images):
        X = torch.from_numpy(read_idx_images(args.images, args.n))
    else:
        X = torch.rand(args.n, model.D, generator=torch.Generator().manual_seed(1))
    o = InferOpts()
    B = args.batch
    decisions = []
    # warm-up on one small chunk (allocator, thread pools)
    classify(model, X[:min(B, 8)], o, B, args.decoders, args.eq3)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for c0 in range(0, args.n, B):
        dec, _ = classify(model, X[c0:c0 + B], o, B, args.decoders, args.eq3)
        decisions += dec
    dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"impl": "pytorch", "task": "classify", "arch": model.s["arch"], "batch": B, "threads": args.threads,
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""), "decoders": args.decoders,
            "eq3": args.eq3, "images_per_s": args.n / dt, "images": args.n, "seconds": dt, "cpu_seconds": cpu,
            "images_per_cpu_s": args.n / cpu, "decisions": decisions,
            "rss_mib": rss_mib()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="compare with a `gendec bench dump` file")
    c.add_argument("dump")
    c.add_argument("--parts", default="grad,adam,infer", help="which comparisons to run (comma-separated)")
    # Tolerances: see bench/README.md (float32 with different summation orders).
    c.add_argument("--tol-loss", type=float, default=1e-5)
    c.add_argument("--tol-grad", type=float, default=1e-4)
    c.add_argument("--tol-grad-l2", type=float, default=1e-5)
    c.add_argument("--tol-adam-loss", type=float, default=1e-4)
    c.add_argument("--tol-adam-l2", type=float, default=1e-3)
    c.add_argument("--tol-adam-frac", type=float, default=1e-4)
    c.add_argument("--tol-z", type=float, default=5e-3)
    c.add_argument("--tol-update", type=float, default=1e-6)
    c.add_argument("--tol-y", type=float, default=1e-4)
    c.add_argument("--tol-F", type=float, default=1e-5)
    t = sub.add_parser("train", help="training images/s (JSON)")
    t.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    t.add_argument("--spec", default=None)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--seconds", type=float, default=3.0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--decoders", default="routed", choices=["routed", "all"])
    t.add_argument("--foreach", action="store_true")
    k = sub.add_parser("classify", help="classification images/s (JSON)")
    k.add_argument("--model", required=True)
    k.add_argument("--images", default=None, help="an idx3 image file (MNIST t10k); uniform noise otherwise")
    k.add_argument("--n", type=int, default=256)
    k.add_argument("--batch", type=int, default=32)
    k.add_argument("--threads", type=int, default=1)
    k.add_argument("--decoders", default="routed", choices=["routed", "all"],
                   help="refinement: only the candidate's decoders, or all of them batched")
    k.add_argument("--eq3", default="all", choices=["all", "loop"],
                   help="Eq. 3: all decoders batched (bmm / grouped convolutions) or one after the other")
    args = ap.parse_args()
    if args.cmd == "check":
        return check(args.dump, args)
    res = bench_train(args) if args.cmd == "train" else bench_classify(args)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
