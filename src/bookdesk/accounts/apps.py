from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "bookdesk.accounts"
    label = "accounts"
