FROM python:3.13-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY domain ./domain
COPY scoring ./scoring
COPY workers ./workers
COPY cli ./cli
COPY devstack ./devstack
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8000
CMD ["uvicorn", "--factory", "api.app:serve", "--host", "0.0.0.0", "--port", "8000"]
