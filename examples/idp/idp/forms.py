"""Sign-up and login forms that ask the pipeline first and show its message on a deny."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm, SignupForm
from allauth.core import context
from django import forms

from idp.models import Profile
from idp.pipeline import pipeline, request_context, user_data


class PipelineSignupForm(SignupForm):
    """PRE_REGISTER before the user is created; its custom data is saved on the profile."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        user = {"email": cleaned.get("email"), "username": cleaned.get("username")}
        self.pipeline_result = pipeline().execute(
            "PRE_REGISTER", user, request_context(context.request)
        )
        if self.pipeline_result.denied:
            raise forms.ValidationError(self.pipeline_result.message)
        return cleaned

    def save(self, request: Any) -> Any:
        user = super().save(request)
        Profile.objects.create(user=user, custom_data=self.pipeline_result.apply_custom_data({}))
        return user


class PipelineLoginForm(LoginForm):
    """PRE_AUTHENTICATION once the credentials are checked, before the session exists."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = getattr(self, "user", None)
        if self.errors or user is None:
            return cleaned
        result = pipeline().execute(
            "PRE_AUTHENTICATION", user_data(user), request_context(context.request)
        )
        if result.denied:
            raise forms.ValidationError(result.message)
        return cleaned
