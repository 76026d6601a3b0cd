"""Deployment artefacts: the IAM policy documents of the producer, worker and admin roles
(``iam_policies/*.json``) and their rendering for other resource names, and the
CloudFormation template of a whole deployment (:func:`template`)."""

import logging

from .iam import ROLES, load_policy, policy_for
from .template import template

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["ROLES", "load_policy", "policy_for", "template"]
