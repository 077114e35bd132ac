# make install | run | test | lint — see README.md
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENDOR := static/vendor

.PHONY: install run cluster test lint bench seed translations clean

install: $(STAMP) $(VENDOR)/.stamp translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# third-party front-end files come from the npm registry, never committed, never a CDN; no
# package's install script runs (swagger-ui-dist pulls in @scarf/scarf, whose postinstall
# reports the install over the network)
$(VENDOR)/.stamp: package.json package-lock.json Makefile
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js node_modules/socket.io-client/dist/socket.io.esm.min.js.map $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui-bundle.js.map $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui.css.map $(VENDOR)/
	cp node_modules/axe-core/axe.min.js $(VENDOR)/  # tests/test_accessibility.py runs it in Chromium
	mkdir -p $(VENDOR)/icons  # the Bootstrap Icons the pages use (static/css/app.css .bi-*)
	cp node_modules/bootstrap-icons/icons/chat.svg \
	   node_modules/bootstrap-icons/icons/arrow-repeat.svg \
	   node_modules/bootstrap-icons/icons/heart.svg \
	   node_modules/bootstrap-icons/icons/heart-fill.svg \
	   node_modules/bootstrap-icons/icons/box-arrow-up.svg \
	   node_modules/bootstrap-icons/icons/three-dots.svg \
	   node_modules/bootstrap-icons/icons/search.svg \
	   node_modules/bootstrap-icons/icons/envelope.svg \
	   node_modules/bootstrap-icons/icons/bell-fill.svg \
	   node_modules/bootstrap-icons/icons/clock.svg $(VENDOR)/icons/
	touch $@

translations: $(STAMP)
	$(BIN)/pybabel compile -d translations --statistics 2>&1 | grep -v '^compiling' || true

run: install
	$(BIN)/microblog dev

# the docker-compose topology without Docker: instances and a worker behind Debian's nginx;
# CLUSTER_ARGS="--port 8080 --instances 2"
cluster: install
	scripts/ensure-nginx.sh
	$(BIN)/microblog cluster $(CLUSTER_ARGS)

# docker-compose's nginx.conf is rendered from the template `microblog cluster` also uses
deploy/nginx.conf: deploy/nginx.conf.j2 microblog/cluster.py
	$(BIN)/python -c 'from microblog.cluster import compose_nginx_conf; print(compose_nginx_conf(), end="")' > $@

# line and branch coverage of the suite and of the processes it starts ([tool.coverage] in
# pyproject.toml): the table and total on the terminal, the report in htmlcov/index.html, the
# data in .coverage. A run collects in a directory of its own, so two runs side by side
# neither erase nor swallow each other's data.
test: install
	run=$$(mktemp -d $(CURDIR)/.coverage.run-XXXXXX) && \
	COVERAGE_FILE=$$run/.coverage $(BIN)/python -m pytest --cov --cov-report=term:skip-covered \
	  --cov-report=html $(PYTEST_ARGS); status=$$?; \
	mv -f $$run/.coverage .coverage 2>/dev/null; rm -rf $$run; exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy microblog tests bench

# every benchmark in bench/, JSON and a table in bench/results/; BENCH_ARGS="--quick --only jobs"
bench: install
	scripts/ensure-bench-tools.sh
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache htmlcov .coverage
