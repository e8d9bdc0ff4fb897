"""Operators: :mod:`.offboarding` (``RevokeOffboardingOperator``, ``EditOffboardingOperator``)."""
