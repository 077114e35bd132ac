from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # A deleted account leaves its partners' side of each conversation in place, with no
    # partner (shown as "deleted account"), instead of taking it out of their inboxes.
    return """
        ALTER TABLE "conversations" ALTER COLUMN "partner_id" DROP NOT NULL;
        ALTER TABLE "conversations" DROP CONSTRAINT "conversations_partner_id_fkey";
        ALTER TABLE "conversations" ADD CONSTRAINT "conversations_partner_id_fkey"
            FOREIGN KEY ("partner_id") REFERENCES "users" ("id") ON DELETE SET NULL;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DELETE FROM "conversations" WHERE "partner_id" IS NULL;
        ALTER TABLE "conversations" DROP CONSTRAINT "conversations_partner_id_fkey";
        ALTER TABLE "conversations" ADD CONSTRAINT "conversations_partner_id_fkey"
            FOREIGN KEY ("partner_id") REFERENCES "users" ("id") ON DELETE CASCADE;
        ALTER TABLE "conversations" ALTER COLUMN "partner_id" SET NOT NULL;"""


MODELS_STATE = (
    "eJztXWtv2zgW/SuEv0yKzQSpE6fZYLGAkzqdbJO4m7gzg0kKlZYYm4hMaSQqD8z2vy9JSd"
    "aLkiU/ZEXDD0VjipeSDh+65/Ley786M8tAprv31UVO5wT81SFwhtgfifJd0IG2HZXyAgrH"
    "pqjosRqiBI5d6kCdssIHaLqIFRnI1R1sU2wRVko80+SFls4qYjKJijyC//SQRq0JolPxIH"
    "ffWDEmBnpBbvjTftQeMDKNxHNig99blGv01RZlF4Sei4r8bmNNt0xvRqLK9iudWmReGxPK"
    "SyeIIAdSxJunjscfnz9d8JrhG/lPGlXxHzEmY6AH6Jk09rpjLSrraNr1cKTdDkaa1qkAkG"
    "4RDi57VFe8/YQ/ws/d94cfDo8Pjg6PWRXxmPOSDz/8W0fA+IICnutR54e4Din0awiMI1B5"
    "n4q/M9CeTaEjxzYuk0KYPXoa4RDPIojDggjjaFzVAfIMvmgmIhM6ZT8PugWI/tq/Ofulf7"
    "Nz0H3Hb2ixaeBPjuvgSldc4qBnQdYe0esyQIdy6wF7u+O5LqjdR2Qiyh5uGbzjwq0D/fC4"
    "BOiHx7mg80tJ0NEMYrMK0HOB1oHb7R2WQJfVyoVXXJPgqz0hB7NGDQ3SLNYfGVwUz1AB3u"
    "kGUtgbQQt74R8leiLAuSnreAHyo4urwe2of/WFNz9z3T9NgVp/NOBXuqL0NVW6c5TqpHkj"
    "4LeL0S+A/wR/DK8HAk3LpRNH3DGqN/qjw58JetTSiPWsQSOOSVgcFiX63EbEYO+qVZ5bGc"
    "Gl5ljDeraGSWZD1322HEObQndaCfC0YAt1om6vVwrxXgHivTTicGx5VKume8Zl6sO506kH"
    "5eP9Migf7+ejzK8lUTYtHZqVMI4k2rd0lNF98lWfjObjItdlz6Mh29Ili0YuPc3ILWaq6x"
    "rL+5vCeS1MNTZuoUs19IQI1Sox/4ycgjYNrUccBA2melCmD+qQP45bAeE8cQV0DtAzNtvh"
    "BC2BcVxSwZuG16c1DJMHyzSZHp2B99SyTARJESlKSKcgHjPxTWEcUtR6adDpcHiZYECnF6"
    "PUx+7r1engZue9+AaySpiiBeDr1myGiISTlkM/Jq7gXwL+/MWlHP4FS4zqgIIOCHDTDMzA"
    "k+sop3iSu8BLxVuzxP+z2z04+NDdPzg67h1++NA73p+v9dlLRYv+6cUnDn2ii3J0RRchib"
    "W32DCWEFyDQaxxLJ5rEUNivgYz7o1YyILFodBAprNXo0tZQ5OSqteb3ut8R/jhMbZ9yQvG"
    "UH98ho6hJa5Ew4Naj0jGak4DufPPN8gU3EUyCIIt8b6NR7yZNzgEfoSDPiyNhkKEEesWRL"
    "V1IPUlsIHe8BZbjZlPFpCjOUhilq+C2fmcdrQXJ74RoYAqBIovkKvOPtZEW+EJ6OGKCJ1F"
    "JLONIC2w5FVB6jrWVFvhEtbhFXHi7nKDpxaPKQfpCD+hIutlFbyu/FbaipbL9xsUUiWQ+s"
    "eqKzl5Qo5bdn1q2GZkyU9e9Iorf/cqofUmB9TYtPRHtk6NJb6VVbA65e20GqQVB1OrAaLQ"
    "XRWfEWuirfC4+hQZnsmm2Rr4ym3YWNuICzdMWV0rz1SVvTTrztIlkLCPvxHcm98pbYySxG"
    "7EDVX58RvQxjFjjwriqM8eu+EgDtGplf0Wk1Kt88Q+KuMjepTvInqU8RBVOw750LdrxyFh"
    "LHixMWttGa/7hGQLe/2N9HKISWE389ifao6GMYn69u0b/pXKbNUlAc6ie245CE/IZ/QqQL"
    "5gTwSJLnM+ToWpvjFw81RGVuzA57miFB9U7N0NHobmf8b7t2f9j4POj/y9z00qn5L9PYka"
    "Kt8FzFdI55ET6Y1IpZu+qVmvdFOlmzZ36VW6qdJNG9vLZXXTZWZ2TEzF+ja8fxX3WFkLUd"
    "yjndwjcP+S8I3IMSyfY/h+aBtgFXdzV0Axsvy/jc63FNu4iy5F1Ry/mmIhdbEQpR7nQ99e"
    "9TicedW+rSkp9X2VBNzMvaCXQVZpLuU1l8Q3RmkvBdpLanDJNRjZ6qCgLQmt0UDlUHiQyE"
    "zRgWdJgfE59GPZqLH5jn+hppYYHdioqPYVxY+2TPOrJWA0Xz8cW0alzIxh/TametpIEiJI"
    "Jl7g1FwW47hM61I9rTkPEYUTiU9e33Hga84GSyCQAtbEm3PI6/zrwSM6hw2MPWxSTNw9fr"
    "9/bwrxcnssd9/UVoriisFnuhqfScgoNrOYzUS6kFK4ixTuxMCqqm6r2Mlqjv8OJK65jmCb"
    "UdTSm91Pq9enPRxaEgIXG3X5HC4+wDdM4+yAUCoSp0hcE9c6ReLePIlTxCMfd0U8FPHI7/"
    "PsBhXvpMo5+WJCbQK1hs9yAecLFacVGV/LQkV3U4wvNvQW71wpGl0rjVYMcXsMMZGOSEIT"
    "0+mK8rliJkfShglj6HOoCGNjCeMje3k5mRkQb5ZZQxM9Eco2mTx2zoeXl8PfWGNiA/+enA"
    "2vrgbXoxMQGE7uyah/+1n7cjP8dDO4vWVjALqPmu1YXL8Vk2T7J7rx3st20n9uh9fyKRLW"
    "T7MgrFPwP1D3Bhe/7TY2uDg+CQIUQrxz1f89jf7Z5fA0zWx4A6eKoCqCKt5siS6PianoEx"
    "V90ujJq6JPtk/WGhp9EuX5lLCPRBLQ4oOztSjp6ELi0ekDGzmuRaAJhBiALsAUPLP/eKLJ"
    "E7DDm9wF4TFX7wB2gYGIiwAkBsCEf29d1iu8HSDqppW5TdzjnrgWgEA3MW+PTiEFLnwOmr"
    "8GPMMaU0UdXuCwIc5l4QNl0teiSQgm0OZ3ecIuZtDtdeRUK+JW82O+0lE3inA1knAtcZzb"
    "dk5ya/jHJpH7ueLp7S0+uX39aRVs+GpaUDJe8/lnTKR+CrodlVeRTUU2E/WWJ5uKjCgyos"
    "hIHhkJU8NLqEgsa3w+EYknqF93NDwjDYY/Jnz9X6aWx2s5SMc2DriT2iRprM6uvOrm+uX7"
    "/f0ybnW8Wq6O6V9MqTrzCVMB54RQ+w5qVynSlEK5nt2L4DNTTatMiynVUmJ68D/m1YBNyC"
    "hUFyvskcakVPYilT0xsBb70CXUT4VsEbLptbBJjChxwJE0jCh5AFJRLFHq1KXF2zRDgsTG"
    "x08ucLGBgPXAdz9i7Zyw3471LHZIgu0UGzqUjZJ3u+AR2RRgAhiFAm5glE3s0Ky3+Xsi/B"
    "ih76ACXX8XBgSUcBe4lqiKydh64ZswFuE/xMAEXD1YvBsT3FvC+sIanm2EipSie82ke+JE"
    "9PBw+qpdIRFWR9qvcKS98KFZqhNikqoHlusBj3AQq1ii5wKtgXxtVCG28mcAXZDFOCGpyP"
    "dbIt+BRlCNISaFlppKTbNsrXsyqU0ytUm2fV64cJNMshTUh2rD1oDSgYCJ1S+BK3sEcP31"
    "8nJbXNs//1VCsucHw+az6+j82XXvO/rH/4oREZwEvJo34N+FZ6pc20rVW6OqF57CXWlKJY"
    "WUZiLR9YLlbRlclcZXXuOLfUWU0leknySH1mK9L/wmK2BLAdvEHNviXHuJ2heed5+v9fFw"
    "4jpj7UPf9pgiUW2fId/dZgU/myXUv1go8QzrjsUGx2QvgJ2DukfQsyaCtbGxsfDizUR25y"
    "uOKpJhg2H0bHWlniR9SblsB5F0jUncWFUPGRVHd+e/XwdfBx9PgC99T/pno4tfByeAb3w+"
    "IZED4cvlYDQQSRBsvsTek/P+xSWXeYDYDO5Y1TXwqIxjYFo/j7kFHmVCT2JZGMpaTmMiag"
    "sirUkzZPjzZeDMD+WJJFaK5GmmJaq2QB7kOLJkVSP0khfyFwq0wau1iOIPfh8Voz1n+JfD"
    "609h9XQXJNGGlKKZLcv5nJ9NMCailo30sqHMWflQt9ecpfar29brIUaxbs/kgn/ABLvTpb"
    "o9JapS3jSnmyWzW22gqw307Zv8GhplequzdcxjRDjvcL1khd0iC6AbVtXKn7fHU9OwyuDZ"
    "wUwzJYDNYkAtwG6CoANMNg6cE4BJkCUG7GDK/ZWJRQH0BV8RfQc8QrEpXJqfLScw7acT4K"
    "z/LvfE9sYm/xKIbDqQgu9BAfswfN8Fz1OsT4GvGbpCTrTF0984SLccg4uxfwaYIic3A07G"
    "ABplBI7u1mG17hK/lct1I12uVYTtZs+tiE2BikpdUrKFunyblLqtpPxvmJK+HU95ZSLJ75"
    "C3SZaVieTv2OtlTCTquJrO5umzOuCjHIFe6YCPjbrMxA76kHnOJM8BKXCgSR09UpY7/+QC"
    "yxHRwiLPP/tJ0QsFYXPIAONXdjnWPGAj5QnrKAgc5mlaJ5ZlnPA44BzqvN6bMObMw5gFHW"
    "blQaO7gLOdXUChw+gvCI+Te7cHvvML2hS60++cmHMqfftL/+du74gHSvOf/tNMIb0nPKtt"
    "9Fwi2BkSgAwsnpI1JJqIHhxO2KjLj3gOzzSaP4LfafwRfdatR6dXSuus4qCuiHmdxHzedV"
    "XY+VyohRR9/YmZgklRAeNIooUAr9+VyLU8R0faMud3SkQV5OW8t56wNG9PPtZxGQVyCZDl"
    "htN8x6JWGU7rdixSRp78cf426X4ZI0+gyFa2qybllGl1WdOqMmrXiXyBSabeY2wb1gOlg9"
    "ernGIb48grgnoWtdROXJOraZMMXX3kYH3akdi4giu7ReYtGNXZZICYiv+vM/6fpycMDJtl"
    "mU9MpBW6ecqpodcr49TQ6+U7NfBrKT9/NqkqIBxUbyG678vmZC9KyZ7JFW4RKv025QcLxU"
    "TUuT8Vw4UyeledH7Mf/wfnq4HF"
)
