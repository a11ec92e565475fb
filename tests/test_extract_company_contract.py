"""A contract's 甲方 (the buyer) is the customer's firm; its 乙方 is the rep's own."""

from datetime import UTC, datetime

import pytest

from bot.extract.extractor import extract

SENT = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("lines", [
    ["产品采购合同", "甲方：远东物流有限公司", "乙方：星辰云科技有限公司", "签订日期：2026年11月20日"],
    # The seller's line first does not change who buys.
    ["技术服务合同", "乙方：星辰云科技有限公司", "甲方： 远东物流有限公司", "甲方（盖章）：远东物流有限公司"],
    # both parties on one line with no space between them (OCR of a two-column header)
    ["采购合同", "甲方：远东物流有限公司乙方：星辰云科技有限公司"],
])
def test_the_buyer_of_a_contract_is_the_customers_firm(lines):
    assert extract("\n".join(["许志强", *lines]), ref_time=SENT).company == "远东物流有限公司"


def test_a_chat_turn_by_someone_called_jiafang_is_no_company():
    ext = extract("甲方：价格再降点吧\n我：我问问领导", ref_time=SENT)
    assert ext.company != "价格再降点吧"
