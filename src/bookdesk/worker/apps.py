from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "bookdesk.worker"
    label = "worker"
