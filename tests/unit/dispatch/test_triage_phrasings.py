"""Colloquial phrasings the default triage rules must classify, and calls that must stay unclear.

Written with the rule changes of the "30 % unclear" review: synonyms (顺走, 跟丢, 扎伤),
a quarrel that turned physical, crash words that say nothing about injuries unless
injury evidence is near them, negations such as 人都没事 / 车里没人 / 打不着火. A call
that is genuinely ambiguous stays unclear and with 110 (首接负责).
"""

from __future__ import annotations

import pytest

from pingan.dispatch.triage import default_rules, triage

RULES = default_rules()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("火车站门口两伙人吵起来了，动手了", "fight"),
        ("楼下烧烤摊几个人干起来了，酒瓶子都砸了", "fight"),
        ("有个男的拿着菜刀在街上追人", "violent_crime"),
        ("有人被人用刀扎了，躺地上", "violent_crime"),
        ("火车站有人抢包，往北边跑了", "robbery"),
        ("自行车被人顺走了", "theft"),
        ("放在车筐里的包被人拿走了，没看到是谁", "theft"),
        ("发生车祸，有人受伤躺在地上", "traffic_injury"),
        ("电动车和汽车撞了，骑车的人腿流血了", "traffic_injury"),
        ("出车祸了，有人被撞飞了", "traffic_injury"),
        ("两车追尾了，没有人受伤，堵住路了", "traffic_no_injury"),
        ("两辆车刮蹭了，人都没事，对方不肯走", "traffic_no_injury"),
        ("停在路边的车被撞了，肇事车跑了，车里没人", "traffic_no_injury"),
        ("一个老人摔倒了起不来", "medical"),
        ("有人昏迷了，叫不醒", "medical"),
        ("我爸突然胸口疼，喘不上气", "medical"),
        ("我妈有老年痴呆，早上出门到现在没回来", "missing_person"),
        ("小孩在商场里跟丢了", "missing_person"),
        ("接到电话说我涉嫌洗钱，让我把钱转到安全账户", "fraud"),
        ("网上买东西付了钱对方把我拉黑了", "fraud"),
        ("小区里有个人挨家挨户敲门，看着不像好人", "suspicious_person"),
        ("工地晚上十二点还在打桩", "noise"),
        ("天然气打不着火了，好像停气了", "gas_outage"),
        ("楼上邻居天天往下扔垃圾，说了也不听，吵了几次", "neighbour_dispute"),
        ("火车站井盖没了，很危险", "road_damage"),
    ],
)
def test_colloquial_phrasings(text: str, expected: str) -> None:
    result = triage(text, RULES)
    assert not result.unclear, (text, result.type, result.reasons)
    assert result.type == expected, (text, result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "喂？喂？你们快来一下",
        "这里出事了，你们快过来",
        "我也说不清楚，你们来看看吧",
        "有人在吵，不知道是不是打架了还是在唱歌",
        "没事了，打错了",
        "我要报警",
        "这里出车祸了",  # no word on injuries: the desk asks, it does not guess
    ],
)
def test_genuinely_ambiguous_calls_stay_unclear_with_110(text: str) -> None:
    result = triage(text, RULES)
    assert result.unclear, (text, result.type, result.reasons)
    assert result.police and result.department is None
