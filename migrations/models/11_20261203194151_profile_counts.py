from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" ADD "follower_count" INT NOT NULL DEFAULT 0;
        ALTER TABLE "users" ADD "following_count" INT NOT NULL DEFAULT 0;
        ALTER TABLE "users" ADD "post_count" INT NOT NULL DEFAULT 0;
        -- kept by statement triggers (one UPDATE per statement and user, however many rows:
        -- a bulk COPY or an account's deletion too); TRUNCATE resets every table at once
        UPDATE users u SET post_count = c.n FROM (
            SELECT author_id, count(*) AS n FROM posts GROUP BY author_id) c
        WHERE u.id = c.author_id;
        UPDATE users u SET follower_count = c.n FROM (
            SELECT followed_id, count(*) AS n FROM follows GROUP BY followed_id) c
        WHERE u.id = c.followed_id;
        UPDATE users u SET following_count = c.n FROM (
            SELECT follower_id, count(*) AS n FROM follows GROUP BY follower_id) c
        WHERE u.id = c.follower_id;
        CREATE OR REPLACE FUNCTION users_count_posts() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                UPDATE users u SET post_count = u.post_count + c.n FROM (
                    SELECT author_id, count(*) AS n FROM new_rows GROUP BY author_id) c
                WHERE u.id = c.author_id;
            ELSE
                UPDATE users u SET post_count = u.post_count - c.n FROM (
                    SELECT author_id, count(*) AS n FROM old_rows GROUP BY author_id) c
                WHERE u.id = c.author_id;
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER posts_counted_in AFTER INSERT ON posts REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION users_count_posts();
        CREATE TRIGGER posts_counted_out AFTER DELETE ON posts REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION users_count_posts();
        CREATE OR REPLACE FUNCTION users_count_follows() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                UPDATE users u SET follower_count = u.follower_count + c.n FROM (
                    SELECT followed_id, count(*) AS n FROM new_rows GROUP BY followed_id) c
                WHERE u.id = c.followed_id;
                UPDATE users u SET following_count = u.following_count + c.n FROM (
                    SELECT follower_id, count(*) AS n FROM new_rows GROUP BY follower_id) c
                WHERE u.id = c.follower_id;
            ELSE
                UPDATE users u SET follower_count = u.follower_count - c.n FROM (
                    SELECT followed_id, count(*) AS n FROM old_rows GROUP BY followed_id) c
                WHERE u.id = c.followed_id;
                UPDATE users u SET following_count = u.following_count - c.n FROM (
                    SELECT follower_id, count(*) AS n FROM old_rows GROUP BY follower_id) c
                WHERE u.id = c.follower_id;
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER follows_counted_in AFTER INSERT ON follows REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION users_count_follows();
        CREATE TRIGGER follows_counted_out AFTER DELETE ON follows REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION users_count_follows();"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TRIGGER IF EXISTS posts_counted_in ON posts;
        DROP TRIGGER IF EXISTS posts_counted_out ON posts;
        DROP TRIGGER IF EXISTS follows_counted_in ON follows;
        DROP TRIGGER IF EXISTS follows_counted_out ON follows;
        DROP FUNCTION IF EXISTS users_count_posts();
        DROP FUNCTION IF EXISTS users_count_follows();
        ALTER TABLE "users" DROP COLUMN "follower_count";
        ALTER TABLE "users" DROP COLUMN "following_count";
        ALTER TABLE "users" DROP COLUMN "post_count";"""


MODELS_STATE = (
    "eJztXW1z2zYS/isYfak95/oc+SU+z83NyK7SurGtnK20ncYZBiIhCWMKVAnKjqeX/34ASI"
    "pvIEXqzTSzH9qYIBakHoDAs4vdxd+tiWMRm+9/5MRtnaG/WwxPiPgjUb6HWng6jUplgYcH"
    "tqo4EzVUCR5wz8WmJwqH2OZEFFmEmy6detRhopTNbFsWOqaoSNkoKpox+teMGJ4zIt5Yvc"
    "inz6KYMot8JTy8nD4YQ0psK/Ge1JLPVuWG9zxVZZfMe6cqyqcNDNOxZxMWVZ4+e2OHzWtT"
    "5snSEWHExR6RzXvuTL6+fLvgZ4a/yH/TqIr/ijEZiwzxzPZiP3dgRGUtw7jp9Y27bt8wWh"
    "UAMh0mwRWvytWvH8lX+LH95ujt0enhydGpqKJec17y9pv/6AgYX1DBc9NvfVP3sYf9Ggrj"
    "CFTZp+rvDLQXY+zqsY3LpBAWr55GOMSzCOKwIMI4GlfbAHmCvxo2YSNvLC4P2wWI/ta5vf"
    "ilc7tz2N6VD3TEZ+B/HDfBnba6JUHPgmw8kOdlgA7l1gP2y47nbUHNH4hNPPFyy+AdF24c"
    "6EenJUA/Os0FXd5Kgk4mmNpVgJ4LNA7c9vFRCXRFrVx41T0NvsYjcalo1DKwl8X6JwGXRy"
    "ekAO90AynsraCF/fCPEj0R4FyXebwA+f7ldfeu37n+IJufcP6XrVDr9LvyTluVPqdKd05S"
    "nTRvBP1+2f8FyUv0Z++mq9B0uDdy1ROjev0/W/Kd8MxzDOY8GdiKYxIWh0WJPp8SZonfal"
    "T+tjKCS31jNevZLXxkU8z5k+NaxhjzcSXA04IN5ETt4+NSiB8XIH6cRhwPnJlnVOOecZnt"
    "4dxqbQfl04MyKJ8e5KMs7yVRth0T25UwjiSaN3WU4T751CfDfDjhXLyPQaaOqZk0ctXTjN"
    "xiTXVdY/lgUzivRVONjVvMPYM8EuYZlTT/jBxAm4Z2xlyCLUE9PMEHTSxfh1dAOE8cgM4B"
    "eiK+djwiS2AclwR40/D6ao3AZOjYtuDRGXjPHccmmBUpRQnpFMQDIb4pjEMVdbtq0Hmvd5"
    "XQgM4v+6nF7uP1efd2541aA0Ul6pEF4JvOZEKYRicth35MHOBfAn4JHtXZucrBHxMH+JeC"
    "P29uL4t/7gwPHVDQAQFuhkUFeHqKeE5HueurVrwxK+y/2u3Dw7ftg8OT0+Ojt2+PTw/mS2"
    "32VtGae375s4Q+0UXZvpC2L4HtTLcI5PZAUqgx0K+N3PishLiVgc0KArh6cKWZdDl0E5IA"
    "r1Z354RoWEnxRkVCcA0bFLWzqkqtrsfs52AJfiU7FgFbKNywMMVP85banUpKQq/Xvdelh8"
    "7wIeZOIgsG2Hx4wq5lJO5Ew8NzHojOynQeyL17f0tsnKOKBC5KnSnty2Ze4RD4Fg76sDQa"
    "ChFGoluIZ6wDqQ/BntStbLHRmM3Zjks026RVMHs3NwM1FyfJWwCoQqDkBLnq1yeaaCo8gb"
    "luRYQuIqNfE0FasLNSBambWFNNhUvt1q2Ik3Rf7j42eEy5xCT0kRTtJlXB69pvpalocbn/"
    "C0iVQOofq87k7JG4vOz8VDPnkJJLXvQTV173KqH1KgfUwHbMBzFPDTS+7lWwOpftNBqkFQ"
    "dTowHyMF8Vn75ooqnwcHNMrJktPrM16Ct3YWNNVlxs+rAqE7gSTTQVHpesYSDdqkaaBJE0"
    "bTptJ8/Ymb01aU/SJZgJ+mgFz5ZPSpszNdGYcVNnfkQmntKYuRDCMrdn0d9wWKbq1MqRCE"
    "mpxsVWnZSJ+jjJD/o4ycR8wJ5VPvTN2rNKmJu+TqlobZk4uoRkA3v9lfRyiElhN8to3mqh"
    "AzGJ7fl01HyVymz2JgHOovvOcQkdsffkWYF8Kd4IM1MXTpRKPPHKwM2jjKLYxU9zohQfVO"
    "K3WzKw3F/GO3cXnZ+6rW/5u+ebJJ+aHWINDdXvI+cT0nksZHorG7jpq/rqgZsCN63v1Avc"
    "FLhpbXu5LDdd5suOiUH2jpr3L+geK7MQ0D2aqXsEDoQafSNyLczXMXxPxg1oFZ/mzqRqZP"
    "l/W63PKW3jU3Qrqub61UAL2ZYWAvQ4H/rm0uPwy6u2tqakYH0tCjdcBllgLuWZS2KNAfZS"
    "wF5Sg0vPYHSzA0BbElqrhuRQ+SDpTNGBZ0mB8Tl0YNmosfmTXKHGjhod1KpI+4pSEjSM+W"
    "0lB0E+Pxw4VqVcy2H9JiZv3EhaQcxGs8AtvizGcZnGJW9cc2ZBD480zngd18XPORssgUAK"
    "WJtuziGv9e/hjJkSNjSYUdujjO/L5/1nU4iX22P59Bm2UkBXbBGLLtfpCUGws9fZzi6dui"
    "uncEkKQfaWtCnAdwWvDGtaDIBNAxvETldGNiMH0Kah9XWyasarhAyYrhabriLFF6wrRdaV"
    "xMCqaluBVAvV4gRdzLi9jtjcftTSqyV1EAK3AjwQArc4U4dQjdaQHKcrmmkSRJu0h4fzt8"
    "YkHpva863i8VVkw4bxcOSDWRzM4nX8fsEs/urN4mDKzce9uaZc0O5bG7CZKHNd1eU4JtQk"
    "ULewLBcYVkLitKJZpWHpW/ZSZpXY0FvsCwS2qq3aqsAM83IaYiJFqEZNTKcQzdcVM3lLN6"
    "wwhlEcoDDWVmF8ED9er8x02WySmUMTPRHK1ll5bL3rXV31fheNKZfIe3bRu77u3vTPUGA4"
    "uWfy8rJ3c4aCs7Lu2dXl++4ZkubUe3bb/dC7E9V96+E963fu3hsfbns/33bv7sSIwfzBmL"
    "qOZMPqk6qqQB22S2hQh+1cFUreSvI+2dfZLv31rnej/6DC+mmdiZoe+h/atoORfOxLOBhJ"
    "fBLqUgjxznXnjzT6F1e987QeJBs4B3UW1Fn1y5bo8pgYeCXV2SsJon8h+rcGql1No3+jTP"
    "0aXSWRxj9fUVE/LTo2YKGa0uqgKXG5w7CNlBjCHFEPPYl/ZKr4M7Qjm9xD4cHhu4hyZBHG"
    "CcLMQpTJ9ZaLXpHtIFU3TeY28Yx7xh2EkWlT2Z43xh7i+Clo/gbJHMmCuLqywBVDXMrioS"
    "ekb1STGI3wVD7lkXIqoNtv6RWzSBObH5yejnoG9ayW6ln8oPuSa01cBBYbjV1c/ZvBM3//"
    "LqxfZzV3yd279ae1muJn28Ga8Zqvf8ZEtq+CvgzlBWUTlM1EveWVTVBGQBkBZSRPGQkPd9"
    "KoIrFzn/IVkfgRU+vORiSUBssfEz7/19HyeC2XmHRKA90JtlRqy9nBB2/OL98cHJRxwpPV"
    "cjmmfzNFdeYfTAWcE0JLgV0zmyqkqAVCuX5COV9mqrHKtBhQS43pwV/MqwGbkAFUFxP2iD"
    "EBZS+i7ImBtdjjLkE/AdkiZNNzYZ00osQRpdqgo+QRpkWRR6lzUxdv0/QYURsfP3DEqUWQ"
    "M5S7H7F2zsS16zypHZJgO2WKXU+Mkt099ECmHqIMCRUK8cAom9ihWW/z90x5PWLfQQVzfx"
    "cGBSrhHuKOqkrZwPkqN2EcJi/UwESSHizejQmerdH6whqzqRUSKVD36qnu2ZjPj6Ku7G6v"
    "EW5M8oet9EuqH5QPzVKdEJOEHliuB2ZMgljFEj0XaAzka1MVYjN/BtAFp0gkJEH5fk3Kd8"
    "AIqmmISaGlPqW6WbbW/THBJhlskr28Xrhwk0wzFWwP1ZrNAaXDBhOzXwJX8Qro5uPV1Uvp"
    "2ue2Yz60NEq2f2OvSLseyCob2XdULfsjwv9zRW/A70XPhLNOgOqtkeoF3141WpIUAmai4X"
    "rB9LYMrsD4yjO+2CoCpK+InySH1mLeF67JAGwpYOt4xkkfcy3tU+WFrE+GE28zMj/0bY8R"
    "iWr7DPnuNiv42SxB/2KhxBNquo4YHKP9AHYJ6j4jT4YK1qbWxsKLNxPZnU8cIZJhg2H0Yn"
    "b1ZppkJ+VyI0TSW0z5JqrOiFVxdLf++7H7sfvTGfKl71nnon/5W/cMyY3PR6IyJny46va7"
    "KmXCVE6x9+xd5/JKygwxtYMnVnUNPCnjGJjm5zG3wJNM6EksC0NZy2lMBLYgsgcFcPl+GT"
    "jzQ3kiiZUieeppidpaIA9xXV1qqz75mhfyFwo0wau1SMXv/tEvRnuu4V/1bn4Oq6e7IHW0"
    "gOeRyVSX9jg/92BMBKaNzDEYYM76Ds1ZsF/dtF4PMYp1eyZh/JAyysdLdXtKFFLe1KebNV"
    "83bKDDBvrLm/xqGmV6Z4p5bCYU4bzDjZMV9oosgDysapQ/71imphGV0ZNLBTNlSHzFyHOQ"
    "eAjBLrLFOHDPEGVBlhi0Qz3pr8wcD2Ff8Jl4u2jGPGorl+Ynxw1M++kEOOt/yj2bzga2XA"
    "lUNh3soS9BgVgYvuyhpzE1x8hnhlzJqbZk+huXmI5rSTHxn4XGxM3NgJMxgEb5g6OntUSt"
    "T4lrcLmupcs1RNhu9pSL2CdQkdQlJRvI5ZtE6l7kgICakfSX8ZQHE0l+h7xOZRlMJN9jr5"
    "cxkcDhNq3Nq89wHEg5BXql40A26jITOxZE5zmTPDWkwIEmdVBJWd35B44cV0ULq1MBxKVH"
    "vnoobI5YaPAsbseaR2KkPFKTBIHDMk3ryHGsMxkHnKM6r/chQnOWYcxKHRblQaN7SGo7e8"
    "jDrlB/UXj43O4++iJvGGPMx1+kYi5V6btfOj+2j09koLS89N9mjL17JrPaRu+lgp0xQ/J8"
    "UPmWoiHVRPTieCRGXX7Ec3gC0vwV/E6Tr+hr3WZ01qW2zioO6qCYb1Mxn3ddFe18LtRAFX"
    "39iZmCj6ICxpFEAwFevysRd2auSYxlTvvUiALk5by3Hqk2b08+1nEZALkEyHrDab5jUaMM"
    "p9t2LAIjT/44f53qfhkjT0BkK9tVk3JgWl3WtApG7W0iX2CS2e6htzXrgdLB61XOvI3pyC"
    "uCehG11Exck7NpnQxdV/SBtDQWLlW+V2TakudRbiQhQPilKh+k/Fx0kHK8tnYXoJrfI9V8"
    "EapTu/59mVR34A+72Q297bLHuoG7EfoILsav2MX4Vh0/riOOwZ1C6ugfXl5yQ/TOmRCZy5"
    "iPsVirQufdJ+qN5SYhdYOj1InL99Gl73or6LaoOXSdydxDl/+AOBE9HwZHx3dD1/6Ee7YT"
    "bJTyf6pb+9PnXbVpqa4Cb2H/b8e1iKuSNY9Fm0jSGpuKq8GzeM7iHUwgyfVeo4EkA0kGkg"
    "wkuU64A0kGktwoSGtKkuVA7lpUS5Pn9wqJshor0sutqvOgcp0bkKEYKIpbOkMVlqaakqFw"
    "HI0p9xz3eQ85tmjEQ0Pqiv8r1rm7n6HI62y4TDxcOJUAf60tf4Wot81GvQVxrUvoB0nJBu"
    "oHr0QfKBX1Bmpg/kcGaiCogc3yC6lbF6xNaXkZht0hLjXHOn4d3Clk1ziqs8n0tpX46/dC"
    "Xjd2eoE8XDEIyyrLTGMiTSSnx8dlyOnxcT45lfdSWQrFR1UB4aB6A9F9U/ZE+aID5TMnnT"
    "vM03rW5ac6jYmslOu0bmgXgLu2ZKcZdrDNxezb/wEguo6o"
)
