from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "bookdesk.catalog"
    label = "catalog"
