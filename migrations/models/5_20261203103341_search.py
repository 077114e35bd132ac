from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Full-text search, maintained by the database in the writer's transaction (so it cannot
    # drift from the posts): posts.search (tsvector, trigger), post_tags and search_words
    # (statement triggers over the inserted rows). Written by hand; see microblog/search/.
    return r"""
        ALTER TABLE "posts" ADD "tags" VARCHAR(64)[] NOT NULL DEFAULT '{}';
        ALTER TABLE "posts" ADD "search" TSVECTOR;

        -- contrib: accent folding and typo tolerance; a server without them still searches
        -- (microblog.search.postgres logs once what is missing)
        DO $$
        DECLARE ext TEXT;
        BEGIN
          FOREACH ext IN ARRAY ARRAY['unaccent', 'pg_trgm', 'fuzzystrmatch'] LOOP
            IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ext) THEN
              EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', ext);
            END IF;
          END LOOP;
          CREATE TEXT SEARCH CONFIGURATION mb_english (COPY = english);
          CREATE TEXT SEARCH CONFIGURATION mb_spanish (COPY = spanish);
          CREATE TEXT SEARCH CONFIGURATION mb_simple (COPY = simple);
          IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN
            ALTER TEXT SEARCH CONFIGURATION mb_english
              ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
            ALTER TEXT SEARCH CONFIGURATION mb_spanish
              ALTER MAPPING FOR hword, hword_part, word, asciiword, asciihword, hword_asciipart
              WITH unaccent, spanish_stem;
            ALTER TEXT SEARCH CONFIGURATION mb_simple
              ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
          END IF;
        END $$;

        -- which configuration analyses a post (and the query, for that post)
        CREATE FUNCTION mb_search_config(language TEXT) RETURNS REGCONFIG
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT CASE language WHEN 'en' THEN 'mb_english'::regconfig
                               WHEN 'es' THEN 'mb_spanish'::regconfig
                               ELSE 'mb_simple'::regconfig END $$;

        -- Han, kana and Hangul runs as characters and bigrams (Lucene's CJK analyzer);
        -- the ranges are microblog.search.query.CJK_RANGES
        CREATE FUNCTION mb_cjk_grams(body TEXT) RETURNS TEXT[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
          SELECT coalesce(array_agg(DISTINCT substr(m.run, i, n)), '{}')
          FROM (SELECT r[1] AS run FROM regexp_matches(body,
                  '[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+', 'g')
                  AS r) m,
               generate_series(1, length(m.run)) AS i, (VALUES (1), (2)) AS k(n)
          WHERE i + n - 1 <= length(m.run) $$;

        -- what the parser reads: it would take `<3 my <cat>` for XML and `&amp;` for an
        -- entity and drop them; same length, so highlights map back character for character
        CREATE FUNCTION mb_search_text(body TEXT) RETURNS TEXT
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
          SELECT translate(body, '<>&', '   ') $$;

        CREATE FUNCTION mb_post_vector(body TEXT, language TEXT, tags TEXT[]) RETURNS TSVECTOR
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT to_tsvector(mb_search_config(language), mb_search_text(body))
                 || array_to_tsvector(mb_cjk_grams(body))
                 || array_to_tsvector(ARRAY(SELECT '#' || t FROM unnest(tags) AS t)) $$;

        CREATE FUNCTION mb_posts_search() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search := mb_post_vector(NEW.body, NEW.language, NEW.tags::TEXT[]);
          RETURN NEW;
        END $$;
        CREATE TRIGGER posts_search BEFORE INSERT OR UPDATE OF body, language, tags ON posts
          FOR EACH ROW EXECUTE FUNCTION mb_posts_search();
        CREATE INDEX posts_search_idx ON posts USING gin (search);

        -- hashtags by name (tag search, trending, #tag pages)
        CREATE TABLE post_tags (
          tag VARCHAR(64) COLLATE "C" NOT NULL,
          post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
          author_id INT NOT NULL,
          created_at TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (tag, post_id));
        CREATE INDEX post_tags_post ON post_tags (post_id);
        CREATE INDEX post_tags_recent ON post_tags (created_at, tag);

        -- people search: username prefixes and the words of about me
        CREATE INDEX users_username_prefix ON users (username_key varchar_pattern_ops);
        CREATE INDEX users_about_search ON users
          USING gin (to_tsvector('mb_simple', coalesce(about_me, '')));

        -- the words people wrote, for "did you mean" and typo-tolerant search
        CREATE TABLE search_words (word TEXT COLLATE "C" PRIMARY KEY);
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE INDEX search_words_trgm ON search_words USING gin (word gin_trgm_ops);
          END IF;
        END $$;

        CREATE FUNCTION mb_words(body TEXT) RETURNS SETOF TEXT
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT w FROM unnest(tsvector_to_array(to_tsvector('mb_simple', mb_search_text(body))))
            AS w
          WHERE w ~ '^[a-z]{4,32}$' $$;

        CREATE FUNCTION mb_posts_inserted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO post_tags (tag, post_id, author_id, created_at)
            SELECT DISTINCT t, n.id, n.author_id, n.created_at
            FROM new_posts n, unnest(n.tags) AS t
            ON CONFLICT DO NOTHING;
          INSERT INTO search_words (word)
            SELECT DISTINCT w FROM new_posts n, mb_words(n.body) AS w
            ON CONFLICT DO NOTHING;
          RETURN NULL;
        END $$;
        CREATE TRIGGER posts_inserted AFTER INSERT ON posts
          REFERENCING NEW TABLE AS new_posts
          FOR EACH STATEMENT EXECUTE FUNCTION mb_posts_inserted();

        CREATE FUNCTION mb_posts_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM post_tags pt USING new_posts n JOIN old_posts o ON o.id = n.id
            WHERE pt.post_id = n.id AND n.tags IS DISTINCT FROM o.tags;
          INSERT INTO post_tags (tag, post_id, author_id, created_at)
            SELECT DISTINCT t, n.id, n.author_id, n.created_at
            FROM new_posts n JOIN old_posts o ON o.id = n.id, unnest(n.tags) AS t
            WHERE n.tags IS DISTINCT FROM o.tags
            ON CONFLICT DO NOTHING;
          INSERT INTO search_words (word)
            SELECT DISTINCT w FROM new_posts n JOIN old_posts o ON o.id = n.id,
                   mb_words(n.body) AS w
            WHERE n.body IS DISTINCT FROM o.body
            ON CONFLICT DO NOTHING;
          RETURN NULL;
        END $$;
        CREATE TRIGGER posts_updated AFTER UPDATE ON posts
          REFERENCING OLD TABLE AS old_posts NEW TABLE AS new_posts
          FOR EACH STATEMENT EXECUTE FUNCTION mb_posts_updated();

        -- posts written before search: their hashtags (`microblog search reindex` recomputes
        -- them exactly, in Python), their vectors and their words
        UPDATE posts SET tags = ARRAY(
          SELECT DISTINCT lower(m[1]) FROM regexp_matches(body,
            '(?:^|[^[:alnum:]_#&/])#([[:alnum:]_]*[[:alpha:]][[:alnum:]_]*)', 'g') AS m
          WHERE length(m[1]) <= 64);
        INSERT INTO search_words (word)
          SELECT DISTINCT w FROM posts, mb_words(body) AS w ON CONFLICT DO NOTHING;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TRIGGER IF EXISTS posts_updated ON posts;
        DROP TRIGGER IF EXISTS posts_inserted ON posts;
        DROP TRIGGER IF EXISTS posts_search ON posts;
        DROP FUNCTION IF EXISTS mb_posts_updated(), mb_posts_inserted(), mb_posts_search(),
          mb_words(TEXT), mb_post_vector(TEXT, TEXT, TEXT[]), mb_search_text(TEXT),
          mb_cjk_grams(TEXT),
          mb_search_config(TEXT);
        DROP INDEX IF EXISTS users_about_search;
        DROP INDEX IF EXISTS users_username_prefix;
        DROP TABLE IF EXISTS search_words;
        DROP TABLE IF EXISTS post_tags;
        DROP TEXT SEARCH CONFIGURATION IF EXISTS mb_english;
        DROP TEXT SEARCH CONFIGURATION IF EXISTS mb_spanish;
        DROP TEXT SEARCH CONFIGURATION IF EXISTS mb_simple;
        ALTER TABLE "posts" DROP COLUMN "search";
        ALTER TABLE "posts" DROP COLUMN "tags";"""


MODELS_STATE = (
    "eJztXf1T2zga/lc0+eXoHMfQ0ADH3NxMoKHLFUgP0t2dhY5XsUWiwZG9lkzK7PV/P0m244"
    "/Ijp1P49UPnRJZr2w/kqXnkV69+rM1cSxk04OvFHmtM/Bni8AJ4n+k0vdBC7punCoSGBza"
    "MqPPc8gUOKTMgybjiU/QpognWYiaHnYZdghPJb5ti0TH5BkxGcVJPsF/+MhgzgixsXyQh2"
    "88GRMLfUc0+uk+G08Y2VbqObEl7i3TDfbqyrQrwi5lRnG3oWE6tj8hcWb3lY0dMsuNCROp"
    "I0SQBxkSxTPPF48vni58zeiNgieNswSPmLCx0BP0bZZ43aERp7UM47Y/MO57A8NoVQDIdI"
    "gAlz8qlW8/Eo/wj/b7DycfTo+OP5zyLPIxZyknP4Jbx8AEhhKe20Hrh7wOGQxySIxjUEWd"
    "yr/noL0YQ0+NbdImgzB/9CzCEZ5FEEcJMcZxu9oGyBP43bARGbEx/3nULkD05+7dxU/du7"
    "2j9jtxQ4d/BsHHcRteactLAvR5kI1n9LoM0JHdesDebXveMNRoArFdBeOZQePAbXc+lECX"
    "58qFV15L4+tCSqeOZxljSMdVcJ4zbGDP0e50SiHeKUC8k0UcDh2fGdV66KTN9nButbaD8u"
    "lhGZRPD/NRFtfSKNuOCe1KGMcWSyEc9gv1bMinJQA+zYX3NAsuRZTy5zGQ65iKTiOXxM3Z"
    "LeZz62rLh7Xmc4l2Cykz0AsizKjEj+fsNLRZaH3iIWgZxGH4CZtQPA6tgHCeuQY6B+gJ/9"
    "rhCC2BcdJSw5uFVzJcg2Py5Ni2M52H99xxbARJAT9OW2cgHnLzTWEcsecNwFyA4Xm/fy1K"
    "nlD6hy0TrgaZwe7rzXnvbu+9HAN5JszQAvBNZzJBQWNcBv2EuYZ/CfjzO5dy+Bd0MboCCi"
    "ogxM2wMAdPzVHO8Si3g1eaN6aL/2e7fXR00j48Oj7tfDg56Zwezvr6+UtFnf751ScBfaqK"
    "crgiRYjM18FHDhzDE1RAFiPDDPpWaHkQ/fEWVbxgEX1iv4ZfXAHSg6ub3v2ge/Ml9X187A"
    "564kpbpr5mUveOM1JpVgj45WrwExA/wW/9256E16Fs5Mk7xvkGv7XEM0GfOZxQTg1oJaaW"
    "otQItVSdm/zVeD0YUDHyFFd62lLXet1rXaybPD0nJvlFwhCaz1PoWUbqStw8mPOMVKrmPL"
    "S7/HyHbKldFI0gXDjqungginmDTeBH1Oij1LgpxBjxakHMWAdSX8I50DtRYqMxC8QC8gwP"
    "KWbjq2B2OZMdzcWJF6OBKgZKdJCrfn28iKbCE8rDFRG6iEVmE0FaMJNXBanbRFFNhUvODq"
    "+Ik3Aq6b00uE15yET4BRXNXlbB6yYopaloUbHeoJEqgdTfV+3JyQvyaKP7JzPxjisPfM2H"
    "a2g75jPvqIYKF6QqWJ2LchoN0oqNqdEAMUhXxWfAi2gqPNQcI8u3+We2BsFyHxXWNOUiZq"
    "actpM3VzV/adKeZFMg4aO/Fd5b3Ck7G6VwcU7OVOW7OUMXJ2Z7tK/z9iZkN+zrLCu1suNi"
    "2qpxXqLHZZxEj/N9RI/nXET1kkM+9M1ackjNFnx3MS9tiVpPWzaw1t9ILUeYFFaz2JJQzd"
    "MwYbG9hfuaj1Jza3VpgOfRvXQ8hEfkM3qVIF/xJ4LEVHkfZ3ZzvTFw8ygjT/bgdEaUko2K"
    "vzt/YxQ4oFx07y+6H3utH/mLn5skn4oFPgUNVS8D5hPS2daJ7Eqk5qZv6qvX3FRz0/p2vZ"
    "qbam5a21ouy02X+bITZmuo4Jrt62pY/WrtsTIL0dqjmdoj9P9S6I3YMyxfYwSOaBtQFQ8z"
    "X0DZsoK/rda3jNp4iC/F2bwgm1Yh21Ihmh7nQ99cehx9edXG1oyVHl8VO25mbtDLIKuZS3"
    "nmkhpjNHspYC+ZxqVmMKreQUNbElqrhuRQepCopqJDz5KCyefIj2Wjk80PYoQaO7J1YKsi"
    "7SvaQNow5reVHaP5/HDoWJUCmEX5mxjraSNRiCAZ+aFXc1mMkzaNi/W05kBEDI4UPnldz4"
    "OvOQssoUEGWBtvziGv9a8nn5gCNjD0sc0woQfifv/eFOLl1lgevumlFK0Vw2G6mp5J2Wg1"
    "s1jNxFxIE+4iwp1qWFXptt48uVM/7QguhShJIJmvS5KVtmFp4oYiSQsTLUzq+P1uQZhosq"
    "fJniZ761kUEJVUORBawqhJoG5h2Cjg2dHAviLLbtj2vCzLTjS9xasFWrpsQbpskpenIpso"
    "yHk28kk+Q58Lt7Jhmh55L2maXlua/sxfXk3Te8SfzPUMqZqIbOtM2VuX/evr/i+8MLkU+E"
    "gu+jc3vdvBGQjl6iMZdO8/G1/u+p/uevf3vA1A+my4niNYm/xIdn+Eiqi9+Ur6z33/Vv2J"
    "RPmz3B6bDPwPbHuqXNx2F1PlAp8UrY8g3rvp/ppF/+K6f57l66KAcy27tOySb7ZElSfMtB"
    "+79mOv9cer/dh3L0Fq6scehwxUqI9UPMHikyqNOH7hQuHR6gIXedQh0AbSDEAKMANT/p+I"
    "WXcG9kSR+yA6MecdwBRYiFAEILEAJmK8pbxWRDlA5s2SuU3c45FQB0Bg2liUx8aQAQqnYf"
    "G3QMRq4lTUEwkeb+LCFj4xbn0ri4RgBF1xlxdMMYfuoKWWWrG2mp0YlPXf14KrloJriZOh"
    "dnMoVM0Hm1QY2YrHpTb4qNT1b9B24avtQEV7zdefCZPtS9DdUF4tNrXYTOVbXmxqMaLFiB"
    "YjeWIkijKtkCKJANT5QiQZ63rd+2q5aLCCNhHwfxUtT+bykIldHGonvUhSW86ufZlm/PL9"
    "4WEZZyaRLZdjBhczVGf2wVTAOWXUvDOfdbAlTSjXs3oRDjPVWGXWTFNLxdRDMJhXAzZlo1"
    "FdTNhjxqQpexFlTzWsxZ5hKfqpkS1CNtsX1kkRpY5KUW7eSB+lUrSDI3N+y+Jlmj5BcuHj"
    "bxRQbCHgPInVj0Q5Z/y350zlCkm4nOJCj/FW8m4fPCOXAUwAl1CAhpOyqRWa9Rb/SPjbEA"
    "oDBxVIg1UYEErCfUAdmRWTofNdLMI4RPyQDRMIerB4NSa8t0L1RTl814qIlJZ79ZR78nDl"
    "6JzrqlWhMNanY69wOrb0oVmqEhKWugaWqwGfCBCrzETPDBoD+dqkQqLnnwN0QTzUlKUW32"
    "9JfIeMoJpCTBtpiaj6mvQqmV4l270wXLhKpugLNKoLN7il+r86ie3gKEmFyp6dMZkvr+Oj"
    "LNe98BicJCpbRHio6GrugH8VoanD9mqut0auFx3oW+mTShtpZqLgemH3tgyumvGVZ3yJUU"
    "TTkyJ6km5ai3lfNCZrYEsBW8dwvfKIbAXti47Ozmd9s/O5t7TZPnJuTxCJagsN+f42Kzja"
    "LEH/EnuJJ9j0HN44Rgch7ALUA4Kmhtytja2N7S/ezNbufOKotzJscB89712ZrwgqWC7cQW"
    "y9xaC+PKuPrIqtu/Xfr72vvY9nILB+JN2LwdXPvTMgVj5fkAyC8OW6N+jJKAiu6GIfyWX3"
    "6lrYPEFsh3es6ht4XMYzMMvPE36Bx3N7TxJhGMpOnSZM9BpElklzZMTzzcGZv5cntlhpK0"
    "/NHC23vZMHeZ4qBtMAfc/b8xcZNMGttUji934dFKM9U/jX/dtPUfZsFaTRhoyhiasKH5sf"
    "JC9horuNbLehp7PyoW7udJZesG5arUcYJao9fPrE6UKYYDpeqtozpjrmTX2qWfF16wV0vY"
    "C++ym/mm4zvTd5P+ZzIZx3Tlc6w37RDCCNshrlj+4SsWl4ZjD1MGemBPCvGDAH8Jsg6AGb"
    "twPvDGAShokBe5gJh2XiMAADw1fE3gGfMGxLn+ap44VT+9kIOOu/yyNx/aEtRgIZTgcy8H"
    "uYwAeG3/fBdIzNMQiYIZV2siwR/8ZDpuNZwoz/s8AYebkhcOYmQONAt/HdWjzXQ+q39rmu"
    "pc+13mK72eMCEp9ARVKXtmwgl28SqdtJJPuakfTduMrrKZL8CnmbYllPkfwVa73MFIk+ha"
    "W1efmsz60oJ6Bre25FF3lc57UU2jm8sl8kmmGcZ5N+M9oteptu0WLbdrgLvazQS5g0Uet1"
    "OmW0XqeTr/XEtczyJ/+oKiAcZm8guu/LxqoqClU1F0PJIUwZMyPfhyJhouOhVvSimGMI2x"
    "zMfvwfN/qoRg=="
)
