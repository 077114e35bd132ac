from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

# microblog.text.username_skeleton in SQL (lower-case; 0→o, 1/i/l→l, 5→s; then rn→m, vv→w),
# for the rows that exist now; tests/test_security_fixes.py checks that the two agree.
SKELETON_SQL = (
    """replace(replace(translate(lower("username"), '01i5', 'olls'), 'rn', 'm'), 'vv', 'w')""")


async def upgrade(db: BaseDBAsyncClient) -> str:
    # The column is filled before it becomes NOT NULL and unique. Names that already read
    # alike (alice and aIice, both registered before this) keep working: the oldest account
    # keeps the skeleton, each newer one gets `<skeleton>#<id>`, which no name can produce,
    # so nobody new can register a look-alike of either. The ALTER's lock holds off inserts
    # by still-running old instances until the transaction commits.
    return f"""
        ALTER TABLE "users" ADD "username_skeleton" VARCHAR(48);
        UPDATE "users" SET "username_skeleton" = {SKELETON_SQL};
        UPDATE "users" AS u SET "username_skeleton" = u."username_skeleton" || '#' || u."id"
            FROM "users" AS o
            WHERE o."username_skeleton" = u."username_skeleton" AND o."id" < u."id";
        ALTER TABLE "users" ALTER COLUMN "username_skeleton" SET NOT NULL;
        ALTER TABLE "users" ADD CONSTRAINT "users_username_skeleton_key"
            UNIQUE ("username_skeleton");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" DROP COLUMN "username_skeleton";"""


MODELS_STATE = (
    "eJztXW1T4zgS/iuqfFmmjqWYQBiOurqqwIRZboDMQWZ3a2HKo9giUeHIWVsmUHvz30+S7f"
    "hNcuy8Ybz6MDVEVsv2I1nqp9Xd+qs1cSxke3tfPeS2TsBfLQIniP2RKt8FLTidxqW8gMKh"
    "LSr6rIYogUOPutCkrPAB2h5iRRbyTBdPKXYIKyW+bfNCx2QVMRnFRT7Bf/rIoM4I0bF4kL"
    "tvrBgTCz0jL/o5fTQeMLKt1HNii99blBv0ZSrKLgg9FxX53YaG6dj+hMSVpy907JB5bUwo"
    "Lx0hglxIEW+euj5/fP504WtGbxQ8aVwleMSEjIUeoG/TxOsOjbisZRjX/YFx2xsYRqsCQK"
    "ZDOLjsUT3x9iP+CD+33x9+ODw+ODo8ZlXEY85LPvwIbh0DEwgKeK4HrR/iOqQwqCEwjkHl"
    "fSr+zkF7NoauHNukTAZh9uhZhCM8iyCOCmKM43G1DZAn8NmwERnRMft50C5A9Nfuzdkv3Z"
    "udg/Y7fkOHfQbBx3EdXmmLSxz0PMjGI3pZBuhIbj1gv+543hbU3iOyEWUPtwzeSeHGgX54"
    "XAL0w2Ml6PxSGnQ0gdiuAvRcoHHgtjuHJdBltZTwimtpfKfQ82aOaxlj6I2r4JwTbOB03e"
    "50SiHeKUC8k0UcDh2fGtWWxaTM9nButbaD8vF+GZSP99Uo82tplG3HhHYljGOJpRAO54V6"
    "DuQy07J6Vs5Nyh7yPPY8Bpo6pmTSUGrOObnFSvS6xvJ+rZXoxLiFHjXQEyLUqERKcnIa2i"
    "y0PnERtAziUPyATcgfx6uAsEpcA60AesK+djhCS2CclNTwZuEVGq7BMHlwbNuZ5eE9dRwb"
    "QVKgH6elMxAPmfimMI605w3AXIDhab9/yVueeN6ftii4GGQWu69Xp72bnfdiDWSVMEULwD"
    "edyQQFg3EZ9BPiGv4l4FdPLuXwL5hidAcUdECIm2FhBp5cRznFI+UELxVvzBT/z3b74OBD"
    "e//g6Lhz+OFD53h/PtfnLxVN+qcXnzj0qS5S6IoeQhJD1EcGHMUTVKAsRoIZ9K1Qci/64y"
    "2yeK5F9In9En5xBUgPLq56t4Pu1ZfU9/GxO+jxK21R+pIp3TnKUKV5I+C3i8EvgP8Ef/Sv"
    "ewJex6MjV9wxrjf4o8WfCfrUYQrlzIBWwrQUlUaopfrcZK/G+sGAkpWnuNPTkrrX697rfL"
    "Pq4TGxs8ILhtB8nEHXMlJX4uFBnUckYzWnodz55xtkC+4iGQThbl13ige8mTc4BH5Egz4q"
    "jYdCjBHrFkSNdSD1JbSB3vAWG41ZQBaQa7hIYo2vgtn5nHY0FyfWjAaqGCg+Qa769bEmmg"
    "pPSA9XROgsJplNBGmBJa8KUteJppoKl7AOr4gT9+TpPTV4TLnIRPgJFVkvq+B1FbTSVLQ8"
    "vt+gkSqB1D9WncnJE3K9Rs9PZuIdV174mg/X0HbMRzZRDSV+X1WwOuXtNBqkFQdTowGi0F"
    "sVnwFroqnweOYYWb7NPrM1EJbbqLGmMRdumXLajspWlb80aU+yJZCw1d8K783vlLVGSfzK"
    "k5YqtW85nOKEtUc7mG/PILthB3PRqZUdF9NSjfMSPSrjJHqk9hE9yrmI6i0HNfTN2nJIWQ"
    "uep5i1tkSvpyUb2OtvpJcjTAq7mcclVPM0TEhsb+O+5qtUbq8uDXAe3XPHRXhEPqMXAfIF"
    "eyJITJn3cSaE7o2Bq1IZWbELZ3NFKTmo2LtbPEQmWMa7t2fdj73WD/Xm5yaVT8kGn0QNlW"
    "8DqhXSeehEdidS66Zv6qvXuqnWTes79WrdVOumte3lsrrpMl92QmwNHVyzuK6G9a/mHitr"
    "IZp7NJN7hP5fEr4Re4apOUbgiLYBVnE39wUUIyv422p9y7CNu/hSXM0NqmkWsi0WotVjNf"
    "TNVY+jL6/a2pqR0uurJOJm7ga9DLJacymvuaTWGK29FGgvmcEl12Bks4OGtiS0Vg2VQ+FB"
    "IjNFh54lBcbnyI9lo8bmO75CjR0xOrBVUe0rCiBtmOa3lYhRtX44dKxKWeOi+k3M9bSRLE"
    "SQjPzQq7ksxkmZxuV6WnMiIgpHEp+8ruvCF8UGSyiQAdbGm3PIa/3rwScmhw0MfWxTTLw9"
    "fr9/bwrxcnssd9/0VormiuEyXY3PpGQ0m1nMZmJdSCvcRQp3amBVVbd18GQ1x38XEs9eR7"
    "DNIG7pze6nbdenPRpaEgKXGHVqDpcc4BumcdOQUGoSp0lcHec6TeLePInTxEONuyYemnio"
    "+zy/QcU7qXJSvoRQk0DdwrJcwPkixWlFxtewUNHdDONLDL3FO1eaRm+VRmuG+HoMMZWPSE"
    "ITs/mK1FwxlyRpw4Qx8jnUhLG2hPGRvbyczPSIP8nNoameiGTrTB5b5/3Ly/5vrDGxgX9P"
    "zvpXV73rwQkIDSf3ZNC9/Wx8uel/uund3rIxAL1HY+o6XL8VH8nrnzbFey/fSf+57V/LP5"
    "GofpYFYZOC/4Ftb3Dx277GBhfHJ0WAIoh3rrq/Z9E/u+yfZpkNb+BUE1RNUMWbLdHlCTEd"
    "faKjT2r98erok9cnazWNPokTfUrYRyoLaPGhvkacdXQh8Wh1wRS5nkOgDYQYgB7AFMzYfz"
    "zT5AnY4U3uguicq3cAe8BCxEMAEgtgwtdbj/UKbweIulllbhP3uCeeAyAwbczbo2NIgQdn"
    "YfPXgGdYY6qoywtcNsS5LHygTPpaNAnBCE75XZ6whxl0ey051Yq51fycr2zUjSZctSRcS5"
    "zn9jpHudV8sUklf654snSDT5Vef1qFKXyxHSgZr2r+mRDZPgV9HZVXk01NNlP1liebmoxo"
    "MqLJiIqMRLnhJVQkkTZeTUSSGerXHQ3PSIMVjIlA/5ep5claLjLxFIfcSW+S1FZn1151c/"
    "3y/f5+Gbc6Xk2pYwYXM6rO/IOpgHNKqHkntesUaVqhXM/uRbjMVNMqs2JatZSYHoLFvBqw"
    "KRmN6mKFPdaYtMpepLKnBtZiH7qU+qmRLUI2OxfWiRGlDjiShhGlD0AqiiXKnLq0eJumT5"
    "DY+PjJAx62EHAe+O5Hop0T9tt1ZmKHJNxOmUKXslHybhc8oikFmABGoYAXGmVTOzTrbf6e"
    "CD9GGDioQC/YhQEhJdwFniOqYjJ0nvkmjEP4DzEwAVcPFu/GhPeWsL6ohj+1IkVK07160j"
    "1xJHp0On3VrpAI6zPtVzjTXvjQLNUJCUndA8v1gE84iFUs0XOBxkC+NqqQmPlzgC7IYpyS"
    "1OT7LZHvUCOoxhDTQpoiyr4mvUumd8lenxgu3CWTzAUa1YWhgKn5r05kOzgAVsKy5yfDqu"
    "l1fADtujceg/N/xYgIjwJezR3w70I0dbJtreutUdeLjuGu9EmlhbRmItH1wultGVy1xlde"
    "40usIlo9KVJP0kNrsd4Xrcka2FLA1jHJtjjYXqL2RQfeq7U+Hk+8zWD7yLk9oUhU22hQ+9"
    "us4GizhPqXiCWeYNN12OAY7YWwc1D3CJoZIlobWxuLL95MaLdacdShDBuMo2ezK/Ul+UvK"
    "pTuIpbeYxY1V9ZFVcXS3/vu197X38QQE0vekeza4+LV3AvjO5xMSSRC+XPYGPZEFYcqn2H"
    "ty3r245DIPENvhHav6Bh6V8QzM6ucJv8CjXOxJIg1DWdNpQkTvQWQ1aYYMf74cnOpYnlhi"
    "pVCemjlabjuSB7muLFvVAD2rYv4igSa4tRZR/N7vg2K05wz/sn/9Kaqe7YI02pBSNJnKkj"
    "6r0wkmRPS0kZ02tDlLDXVzzVl6w7ppvR5hlOj2XDL4B0ywN16q2zOiOudNfbpZ8nXrDXS9"
    "gf76Jr+ahpnemmwe8xkRVp2ul66wW2QB9KKqRvkD93huGlYZzFzMNFMC2FcMqAPYTRB0gc"
    "3GgXsCMAnTxIAdTLnDMnEogIHgC6LvgE8otoVP88xxQ9N+NgPO+u9yT6b+0OYrgUinAyn4"
    "HhawheH7LpiNsTkGgWboCTnRFs9/4yLTcS0uxv5ZYIxcZQqcnAE0Tgkc363Fat2lfmuf61"
    "r6XOsQ280eXJH4BCoqdWnJBuryTVLqXiXnf82U9NdxldcmEnWHvE2yrE0kf8deL2Mi0efV"
    "tDZPn/UJH+UI9EonfGzUZSZx0ofMcyZ9EEiBA03m7JGy3PknDziuCBcWif7ZT4qeKYiaQx"
    "YYvrDLieYBGylP2ERh5DDP0zpyHOuEBwIrqPN6b8KYM49jFnSYlYeN7gLOdnYBhS6jvyA6"
    "T+7dHvjOLxhj6I2/c2LOqfTtL92f250jHinNfwZPM4b0nvC0tvFziWhnSACysHhK1pBoIn"
    "5wOGKjTh3yHB1qNH+EoNP4Iwas24yPr5TWWcVBXRPzbRLzeddVYedzoQZS9PVnZgo/igoY"
    "xxINBHj9rkSe47smMpY5wFMiqiEv5731hKWJe9RYJ2U0yCVAlhtO1Y5FjTKcbtuxSBt51O"
    "P8bdL9MkaeUJGtbFdNy2nT6rKmVW3U3ibyBSaZ7Z5jW7MeKB27XuUY2wRHXhHUs7ilZuKa"
    "nk3rZOjqIheb45bExhVe2S0yb8G4ziYDxHT8/zbj/3l+wtCwWZb5JEQaoZtnnBo6nTJODZ"
    "2O2qmBX8v4+bOPqgLCYfUGovu+bFL2opzsuWThDqHStUkdLJQQ0Qf/VAwXyuld21zMfvwf"
    "h25r3Q=="
)
