"""optlib: every formula of the course *Optimization for deep learning*, in numpy.

The core (this package's top level) needs numpy alone; :mod:`optlib.plotting` and
:mod:`optlib.widgets` add matplotlib and ipywidgets and are imported only when asked for.
"""
from .optimizers import (OPTIMIZERS, SGD, Adagrad, Adam, EMAMomentum, Momentum, Nesterov, Optimizer,
                         RMSProp)

__version__ = "0.1.0"
