from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "bookdesk.catalog"
    verbose_name = "Catalog"
    label = "catalog"
