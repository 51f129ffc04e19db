"""Deployment files: nginx.conf (rendered by nginx_conf.py from sitegen/headers.py), Dockerfile,
k8s.yaml."""
