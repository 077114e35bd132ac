from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "notifications" ALTER COLUMN "kind" TYPE VARCHAR(32) USING "kind"::VARCHAR(32);
        COMMENT ON COLUMN "notifications"."kind" IS 'FOLLOW: follow\nCOMMENT: comment\nTASK_PROGRESS: task_progress';
        ALTER TABLE "tasks" ALTER COLUMN "status" TYPE VARCHAR(16) USING "status"::VARCHAR(16);
        COMMENT ON COLUMN "tasks"."status" IS 'QUEUED: queued\nACTIVE: active\nCOMPLETE: complete\nFAILED: failed';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "tasks" ALTER COLUMN "status" TYPE VARCHAR(16) USING "status"::VARCHAR(16);
        COMMENT ON COLUMN "tasks"."status" IS NULL;
        ALTER TABLE "notifications" ALTER COLUMN "kind" TYPE VARCHAR(32) USING "kind"::VARCHAR(32);
        COMMENT ON COLUMN "notifications"."kind" IS NULL;"""


MODELS_STATE = (
    "eJztXf1T2zga/lc0+eXoHMfQ0FCWubmZQEOXK5AepLs7W3a8ii0SDY7ktWVSZq//+0qyHX"
    "/Jjp0vjFc/dEpkvbL9SJaeR3r16s/OjFrI9g6+eMjtnII/OwTOEP8jlb4POtBx4lSRwODY"
    "lhl9nkOmwLHHXGgynvgAbQ/xJAt5posdhinhqcS3bZFITZ4Rk0mc5BP8h48MRieITeWDfP"
    "2NJ2NioW/Ii346j8YDRraVek5siXvLdIM9OzLtkrALmVHcbWyY1PZnJM7sPLMpJYvcmDCR"
    "OkEEuZAhUTxzffH44unC14zeKHjSOEvwiAkbCz1A32aJ1x0bcVrHMG6GI+NuMDKMTg2ATE"
    "oEuPxRPfn2E/EI/+q+fff+3cnR8bsTnkU+5iLl/ffg1jEwgaGE52bU+S6vQwaDHBLjGFRR"
    "p/LvHLTnU+iqsU3aZBDmj55FOMKzDOIoIcY4ble7AHkGvxk2IhM25T+PuiWI/tS/Pf+xf7"
    "t31H0jbkj5ZxB8HDfhla68JEDPg2w8oudVgI7sNgP2y7bnLUONZhDbdTBeGLQO3G7vXQV0"
    "ea5CeOW1NL4O9Lw5dS1jCr1pHZxzhi3sObq9XiXEeyWI97KIwzH1mVGvh07a7A7nTmc3KJ"
    "8cVkH55LAYZXEtjbJNTWjXwji2WAnhsF9oZkM+qQDwSSG8J1lwPeR5/HkM5FBT0WkUkric"
    "3XI+t6m2fNhoPpdot9BjBnpChBm1+HHOTkObhdYnLoKWQSjDD9iE4nG8GggXmWugC4Ce8a"
    "8dTtAKGCctNbxZeCXDNTgmD9S26TwP7xmlNoKkhB+nrTMQj7n5tjCO2PMWYC7B8Gw4vBIl"
    "zzzvD1smXI4yg92X67PB7d5bOQbyTJihJeCbdDZDQWNcBf2EuYZ/BfiLO5dq+Jd0MboCSi"
    "ogxM2wMAdPzVHO8KSwg1eat6aL/6HbPTp63z08Oj7pvXv/vndyuOjr85fKOv2zy48C+lQV"
    "FXBFDyGSr4MPHDiGZ6iELEaGGfSt0PIg+uM1qnjBIobEfg6/uBKkR5fXg7tR//pz6vv40B"
    "8NxJWuTH3OpO4dZ6TSohDw8+XoRyB+gl+HNwMJL/XYxJV3jPONfu2IZ4I+o5xQzg1oJaaW"
    "otQItVSdm/zVeD0YUDHylFd62lLXetNrXaybPDwmJvlFwhiaj3PoWkbqStw8GH1EKlVzFt"
    "pdfLpFttQuikYQLhz1HTwSxbzCJvA9avRRatwUYox4tSBmbAKpz+Ec6K0osdWYBWIBuYaL"
    "FLPxdTC7WMiO9uLEi9FAlQMlOsh1vz5eRFvhCeXhmgidxyKzjSAtmcmrg9RNoqi2wiVnh9"
    "fESTiVDJ5a3KZcZCL8hMpmL+vgdR2U0la0PLHeoJGqgNQ/1+3JyRNyvVb3T2biHdce+NoP"
    "19im5iPvqMYKF6Q6WJ2JcloN0pqNqdUAMeiti8+IF9FWeDxziizf5p/ZBgTLXVRY25SLmJ"
    "miXVo0V5W/NOvOsimQ8NHfCu8t7pSdjVK4OCdnqordnKGDE7M92td5dxOyW/Z1lpVa23Ex"
    "bdU6L9HjKk6ix8U+osc5F1G95FAMfbuWHFKzBd8czEtbodbTli2s9VdSyxEmpdUstiTU8z"
    "RMWOxu4b7ho1RurS4NcB7dC+oiPCGf0LME+ZI/ESSmyvs4s5vrlYFbRBl5sgvnC6KUbFT8"
    "3fkbo8AB5bx/d97/MOh8L1783Cb5VCzwKWioehmwmJAutk5kVyI1N31VX73mppqbNrfr1d"
    "xUc9PG1nJVbrrKl50w20AFN2xfV8vqV2uPtVmI1h7t1B6h/5dCb8SeYcUaI3BE24Kq+Lrw"
    "BZQtK/jb6vyWURtf40txNjfIplXIrlSIpsfF0LeXHkdfXr2xNWOlx1fFjpuFG/QqyGrmUp"
    "25pMYYzV5K2EumcakZjKp30NBWhNZqIDmUHiSqqejQs6Rk8jnyY9nqZPNXMUJNqWwd2KpJ"
    "+8o2kLaM+e1kx2gxPxxTq1YAsyh/G2M9bSUKESQTP/Rqropx0qZ1sZ42HIhI65ti3Nurb4"
    "KhpR4HT9loBr6cgcfjtyaJZSQx1bDqUkS94e9FfYsjuBREOoFkMZdOVtqW6bQTEntNpjWZ"
    "buL3uwMyrcmeJnua7G1mIltUUu3gXQmjNoG6g2GjhGdHA/uaLLtlW8qyLDvR9JbPcGvpsg"
    "Ppsk1enorGoSDn2WgdxQw9FyJkyzQ98rjRNL2xNP2Rv7yapg+IP8v1DKmaiGybTNk7F8Or"
    "q+HPvDC5fHVPzofX14Ob0SkI5eo9GfXvPhmfb4cfbwd3d7wNQO/RcFwqWJv8SF7+2A9Re/"
    "lK+u/d8Eb9iUT5s9wemwz8H9h4e4Nj598PPjEF9mDsY5th4h2I2/5nWxPqJVALfFK0PoJ4"
    "77r/Sxb986vhWZaviwLOtOzSsku+2QpVnjDTvtfa97rRH6/2vX55CdJQ3+s4zJ1CfaRi4J"
    "WfrmjEMfeWCo9OHzjI9SiBNpBmAHoAMzDn/4k4a6dgTxS5D6JTXt4A7AELEQ8BSCyAiRhv"
    "PV4rohwg82bJ3DbucU88CiAwbSzKY1PIgAfnYfE3QMQX4lTUFQkub+LCFj4wbn0ji4RgAh"
    "1xlyfsYQ7dQUcttWJttTjlJutzrgVXIwXXCqcZvcxBRg0fbFKhT2se8dni4z03v6nYgc82"
    "hYr2Wqw/Eya7l6AvQ3m12NRiM5VvdbGpxYgWI1qMFImRKDKyQookgiYXC5FkfOZN7wXlos"
    "EK2kTA/1W0PJnLRSZ2cKid9CJJYzm79mVa8Mu3h4dVnJlEtkKOGVzMUJ3FB1MD55RR+84p"
    "1gGCNKHczOpFOMzUY5VZM00tFVMPwWBeD9iUjUZ1OWGPGZOm7GWUPdWwlnuGpeinRrYM2W"
    "xf2CRFlDreQ7l5I338R9kOjsyZI8uXaYYEyYWPf3jAwxYC9EGsfiTKOeW/XTqXKyThcooD"
    "XcZbyZt98IgcBjABXEIBL5yUTa3QbLb4e8LfhngwcFCBXrAKA0JJuA88KrNiMqbfxCIMJe"
    "KHbJhA0IPlqzHhvRWqL8rhO1ZEpLTca6bckwcCR2cz160KhbE+0XmNE52lD81KlZCw1DWw"
    "Wg34RIBYZyZ6YdAayDcmFRI9fw7QJTE8U5ZafL8m8R0ygnoKMW2kJaLqa9KrZHqV7OWF4d"
    "JVMkVfoFFdusEt1f81SWwHxx8qVPbiXMRieR0fv7jphcfg9EvZIsKDMNdzB/y7CE0dalZz"
    "vQ1yvegQ2lqfVNpIMxMF1wu7t1Vw1YyvOuNLjCKanpTRk3TTWs77ojFZA1sJ2CaGmJXHOi"
    "toX3TcczHrW5wpvaPN9pFze4JI1FtoKPa3WcPRZgX6l9hLPMOmS3njmByEsAtQDwiaG3K3"
    "Nra2tr94O1u7i4mj3sqwxX30vHdlviKoYLVwB7H1DgPR8qw+smq27s7/vgy+DD6cgsD6nv"
    "TPR5c/DU6BWPl8QjIIwuerwWggoyA4oou9Jxf9yyth8wCxHd6xrm/gcRXPwCw/T/gFHuf2"
    "niTCMFSdOk2Y6DWILJPmyIjny8FZvJcntlhrK0/DHC13vZMHua4qBtMIfSva8xcZtMGttU"
    "ziD34ZlaO9UPhXw5uPUfZsFaTRhoyhmaMKH1scJC9horuNbLehp7OKoW7vdJZesG5brUcY"
    "Jao9fPrEiTiYYG+6UrVnTHXMm+ZUs+Lr1gvoegH95af8GrrN9M7k/ZjPhXDR2VLpDPtlM4"
    "BelNWoftyUiE3DM4O5izkzJYB/xYBRwG+CoAts3g7cU4BJGCYG7GEmHJYJZQAGhs+IvQE+"
    "YdiWPs1z6oZT+9kIOJu/yz1x/LEtRgIZTgcy8HuYwAeG3/fBfIrNKQiYoSftZFki/o2LTO"
    "pawoz/s8AUuYUhcHIToHGg2/huHZ7ra+q39rlupM+13mK73eMCEp9ATVKXtmwhl28TqXuR"
    "SPYNI+kv4yqvp0iKK+R1imU9RfJ3rPUqUyT6FJbO9uWzPreimoBu7LkVfeRynddRaOfwyn"
    "6ZaIZxnm36zWi36F26RYtt2+Eu9KpCL2HSRq3X61XRer1esdYT1zLLn/yjqoFwmL2F6L6t"
    "GquqLFRVLoYSJUwZM6PYhyJhouOh1vSiyDGEXQ5m3/8CJ4o8bA=="
)
