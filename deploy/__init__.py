"""Deployment files rendered from build.py: nginx.conf (nginx_conf.py), Dockerfile, k8s.yaml."""
