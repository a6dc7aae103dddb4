from allauth.account.apps import AccountConfig
from allauth.socialaccount.apps import SocialAccountConfig
from django.apps import AppConfig, apps


class AccountsConfig(AppConfig):
    name = "bookdesk.accounts"
    label = "accounts"
    default = True  # this module defines other configs too (below)
    verbose_name = "Customers & staff"

    def ready(self) -> None:
        # Django's auth app stays "django.contrib.auth" in INSTALLED_APPS (django-stubs finds the user model
        # by that name), so its section (the groups) is renamed here rather than by a subclass.
        apps.get_app_config("auth").verbose_name = "Staff roles"


# The admin's sections, named for a shop owner: allauth's and Django's apps under names that say what they hold
# (allauth's "Accounts" beside ours read as two sections of the same name). Listed in INSTALLED_APPS.
class SignInConfig(AccountConfig):
    verbose_name = "Sign-in & email addresses"


class SignInWithOthersConfig(SocialAccountConfig):
    verbose_name = "Sign-in with other services"
