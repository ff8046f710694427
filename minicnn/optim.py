"""Optimizers, as in ``torch.optim``: ``SGD`` (momentum, dampening, Nesterov, weight decay), ``Adam`` and ``AdamW``.

    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()

An optimizer holds the parameters themselves (the arrays of the model) and moves each one a little against its
gradient ``p.grad`` at every ``step()``, in place. The formulas are torch's, line for line (its documentation's
pseudo-code), so that a run matches ``torch.optim`` step for step.
"""

from __future__ import annotations

import math

import numpy as np

from minicnn.autograd import Parameter, no_grad


class Optimizer:
    """The base: ``param_groups`` (a list of dicts: "params" and the hyper-parameters), a ``state`` per parameter,
    ``zero_grad()``, and ``step()`` which each optimizer defines as ``_update(p, grad, group, state)``."""

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults, self.param_groups, self.state = defaults, [], {}
        seen = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            if seen & {id(p) for p in group["params"]}:
                raise ValueError("some parameters appear in more than one parameter group")
            seen |= {id(p) for p in group["params"]}
            for p in group["params"]:
                if not isinstance(p, Parameter):
                    what = type(p).__name__
                    raise TypeError(f"optimizer can only optimize Parameters, but one of the params is {what}")
            self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next ``backward`` (which adds into ``.grad``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad[...] = 0

    @no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` (re-evaluates the loss) is called first if given."""
        loss = None
        if closure is not None:
            from minicnn.autograd import enable_grad

            with enable_grad():
                loss = closure()
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # NaN and inf flow, as in torch
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = -np.asarray(p.grad) if group.get("maximize") else np.asarray(p.grad)
                    value = p.view(np.ndarray)  # the parameter's memory, written in place
                    self._update(value, grad, group, self.state.setdefault(id(p), {}))
                    p._bump()  # a backward still holding the old value will refuse to run
        return loss

    def _update(self, p, grad, group, state):
        raise NotImplementedError


def _check(name, value, low=0.0):
    if not value >= low:
        raise ValueError(f"Invalid {name}: {value}")


class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * g, with momentum (a running sum of past gradients), Nesterov's
    look-ahead, dampening and L2 weight decay, exactly as ``torch.optim.SGD``::

        g = grad + weight_decay * p
        b = g at the first step, else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b          (when momentum > 0)
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):  # fmt: skip
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize)  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, group, state):
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p -= (group["lr"] * grad).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): a step along the running mean of the gradients (m), scaled per element by the
    running root mean square (v), both corrected for starting at zero, exactly as ``torch.optim.Adam``::

        g = grad + weight_decay * p                      (Adam's L2 penalty; AdamW decays p directly instead)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    decoupled = False  # AdamW: weight decay applied to p directly, not added to the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False):  # fmt: skip
        _check("learning rate", lr)
        _check("epsilon value", eps)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, group, state):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if wd != 0:
            if self.decoupled:
                p *= p.dtype.type(1 - lr * wd)
            else:
                grad = grad + wd * p
        m += (grad - m) * (1 - beta1)  # torch's lerp: m + (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        p -= (step_size * m / denom).astype(p.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019): p = p * (1 - lr * weight_decay) before the
    Adam step, instead of adding weight_decay * p to the gradient. Default weight_decay 0.01, as in torch."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
