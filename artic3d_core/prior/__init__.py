"""The synthetic prior: a small latent diffusion model with Stable Diffusion's structure, trained
on clean renders of the synthetic animals and saved as a diffusers folder that the ``real``
weights path loads (``weights.profile: synthetic``).

Modules: :mod:`.config` (the ``prior`` section), :mod:`.data` (training renders),
:mod:`.model` (the diffusers modules and folder), :mod:`.train` (the training loop),
:mod:`.card` (the model card), :mod:`.evaluate` (held-out denoising loss, samples).
"""
