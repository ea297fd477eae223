"""optlib: every formula of the course *Optimization for deep learning*, in numpy.

One module per topic of the notes: :mod:`~optlib.losses`, :mod:`~optlib.optimizers`,
:mod:`~optlib.schedules`, :mod:`~optlib.regularization`, :mod:`~optlib.functions`,
:mod:`~optlib.models`, :mod:`~optlib.training` and :mod:`~optlib.data`. They need numpy alone and are
all imported here. :mod:`optlib.plotting` and :mod:`optlib.widgets` add matplotlib and ipywidgets and
are imported only when asked for (``from optlib import plotting``).
"""
from . import curvature, data, functions, losses, models, optimizers, regularization, schedules, training
from .data import (digits_split, linear_regression_data, moons, moons_split, sparse_features,
                   train_val_split)
from .functions import (RACE_GRID, MinimizeResult, Race, beale, booth, himmelblau, minimize, numerical_grad, quadratic,
                        race, rastrigin, rosenbrock, saddle)
from .losses import (cross_entropy, cross_entropy_grad, hinge, hinge_grad, log_softmax, mse, mse_and_grad, mse_grad,
                     softmax, softmax_cross_entropy, softmax_cross_entropy_and_grad, softmax_cross_entropy_grad)
from .models import MLP, LinearRegression, SoftmaxRegression
from .optimizers import (OPTIMIZERS, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, AMSGrad, EMAMomentum, Hyperparameter,
                         Momentum, NAdam, Nesterov, Optimizer, RAdam, RMSProp, accept_gradient, all_finite,
                         bias_correction, default_hyperparameters, ema_, make, register, rms_scaled)
from .regularization import (decoupled_weight_decay, dropout, dropout_grad, l1_penalty, l1_penalty_grad,
                             l2_penalty, l2_penalty_grad)
from .schedules import (ReduceLROnPlateau, constant, cosine_annealing, cosine_warm_restarts, exponential_decay,
                        inverse_time_decay, linear_warmup, sequential, step_decay, warmup_cosine)
from .training import History, RangeTest, accuracy, clip_grad_norm_, lr_range_test, train, update_ratios

__version__ = "0.1.0"
