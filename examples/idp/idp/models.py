from django.conf import settings
from django.db import models


class Profile(models.Model):
    """What the pipeline's functions stored with ``user.addCustomData``."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    custom_data = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"
