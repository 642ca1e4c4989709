"""Order statuses as shops' platforms write them in their exports (Shopee, Lazada, TikTok Shop, Haravan,
Sapo, KiotViet, Taobao/Tmall, Shopify), mapped to ours. Compared like header names: case, spacing and
accents aside, so "Đã hủy", "đã huỷ" and "DA HUY" are one word.

Where a platform's word sits between two of ours, the money decides: most Vietnamese orders are paid
cash on delivery, so an order on its way ("Đang giao") has not been paid yet and stays ``placed``; a
Chinese order waiting to ship (待发货) was paid first and is ``paid``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.imports.parsing import BadValue, column_key
from domain.orders.models import OrderStatus

# fmt: off
_WORDS: dict[OrderStatus, tuple[str, ...]] = {
    OrderStatus.PLACED: (
        "chờ xác nhận", "chờ xử lý", "đang xử lý", "chờ thanh toán", "chưa thanh toán", "đã xác nhận",
        "chờ lấy hàng", "chờ giao hàng", "đang giao", "đang giao hàng", "đang vận chuyển", "đặt hàng", "mới",
        "待付款", "待支付", "未付款", "已下单", "pending", "unpaid", "open", "new",
    ),
    OrderStatus.PAID: (
        "đã thanh toán", "đã trả tiền", "已付款", "已支付", "待发货", "已发货", "卖家已发货", "paid", "shipped",
    ),
    OrderStatus.DELIVERED: (
        "đã giao", "đã giao hàng", "giao hàng thành công", "giao thành công", "hoàn thành", "đã hoàn thành",
        "thành công", "đã nhận hàng", "已签收", "已收货", "已完成", "交易成功", "完成", "completed", "fulfilled",
    ),
    OrderStatus.CANCELLED: (
        "đã hủy", "hủy", "hủy đơn", "đơn hủy", "giao thất bại", "已取消", "取消", "交易关闭", "已关闭",
        "canceled", "voided",
    ),
    OrderStatus.REFUNDED: (
        "trả hàng/hoàn tiền", "trả hàng hoàn tiền", "đã hoàn tiền", "hoàn tiền", "trả hàng", "đã trả hàng",
        "已退款", "退款成功", "退款", "退货退款", "已退货", "refund", "returned",
    ),
}
# fmt: on
STATUS_WORDS: dict[str, OrderStatus] = {
    column_key(word): status for status, words in _WORDS.items() for word in (status.value, *words)
}


def order_status(text: str) -> str:
    """Our status for a platform's word ("Đã giao" -> delivered); BadValue, naming ours and some of
    theirs, for a word no platform above uses."""
    return status_reader(())(text)


def status_reader(shop_words: Sequence[tuple[str, str]]) -> Callable[[str], str]:
    """Reads a status cell with the shop's own words (word as written, our status) over the built-in
    ones; a word neither knows is refused with the words that are known."""
    known = {**STATUS_WORDS, **{column_key(word): OrderStatus(status) for word, status in shop_words}}

    def read(text: str) -> str:
        status = known.get(column_key(text))
        if status is None:
            raise BadValue(known_words(shop_words))
        return status.value

    return read


def known_words(shop_words: Sequence[tuple[str, str]]) -> str:
    ours = ", ".join(status.value for status in OrderStatus)
    shop = "; this shop's words: " + ", ".join(word for word, _ in shop_words) if shop_words else ""
    platforms = len(STATUS_WORDS) - len(OrderStatus)
    return (
        f"a status: {ours}{shop}; or one of {platforms} platforms' words such as Đã giao, Đã hủy, "
        "Trả hàng/Hoàn tiền, 已付款 (the orderStatusWords query lists them all)"
    )


def all_words(shop_words: Sequence[tuple[str, str]]) -> list[tuple[str, OrderStatus, bool]]:
    """Every word an import reads as a status: (word, status, the shop's own), the shop's first."""
    shop = [(word, OrderStatus(status), True) for word, status in shop_words]
    overridden = {column_key(word) for word, _ in shop_words}
    built_in = [(word, status, False) for status, words in _WORDS.items() for word in (status.value, *words)]
    return shop + [entry for entry in built_in if column_key(entry[0]) not in overridden]
