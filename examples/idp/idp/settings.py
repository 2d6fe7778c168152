"""A minimal identity provider: django-allauth for sign-up and login, django-oauth-toolkit
as the OpenID Connect provider, GenAuth Pipeline called at each trigger.

Configured by environment variables: PIPELINE_URL and PIPELINE_API_KEY (a key with the
``execute`` scope), IDP_OIDC_RSA_PRIVATE_KEY (PEM; a throw-away key is made when unset).
For local use only: DEBUG is on and the secret key is fixed.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("IDP_SECRET_KEY", "reference-idp-not-for-production")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "oauth2_provider",
    "idp",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
ROOT_URLCONF = "idp.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("IDP_DATABASE", str(BASE_DIR / "idp.sqlite3")),
    }
}
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"

# allauth: e-mail and username, no e-mail verification (a demo has no mail server).
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_FORMS = {"signup": "idp.forms.PipelineSignupForm", "login": "idp.forms.PipelineLoginForm"}
ACCOUNT_RATE_LIMITS = False


def _oidc_key() -> str:
    pem = os.environ.get("IDP_OIDC_RSA_PRIVATE_KEY")
    if pem:
        return pem
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_key(),
    "SCOPES": {"openid": "OpenID Connect", "profile": "Profile", "email": "E-mail"},
    "OAUTH2_VALIDATOR_CLASS": "idp.oauth.PipelineOAuth2Validator",
    # Access tokens are JWTs signed with the OIDC key, so the pipeline's claims can be in them.
    "ACCESS_TOKEN_GENERATOR": "idp.oauth.signed_access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
}

PIPELINE_URL = os.environ.get("PIPELINE_URL", "http://127.0.0.1:8000")
PIPELINE_API_KEY = os.environ.get("PIPELINE_API_KEY", "")
PIPELINE_TIMEOUT = float(os.environ.get("PIPELINE_TIMEOUT", "3"))
