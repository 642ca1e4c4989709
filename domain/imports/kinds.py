"""What each kind of import file holds: its columns, in the template's order, and how a cell becomes the
value the API takes. ``customer_external_id`` names the customer an order or interaction belongs to by
the shop's own id (a column ``customer_id`` with our id works too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from domain.customers import export
from domain.imports.order_statuses import order_status
from domain.imports.parsing import amount, column_key, day, moment, text_list


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    ORDERS = "orders"
    INTERACTIONS = "interactions"


def _lower(text: str) -> str:
    return text.strip().lower()


def _utc_moment(text: str) -> str:
    """Times without an offset are taken as UTC."""
    value = datetime.fromisoformat(moment(text))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _whole(text: str) -> int:
    return int(text.strip())


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    read: Callable[[str], object] = str.strip
    example: str = ""


COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.CUSTOMERS: (
        Column("external_id", example="KH-0001"),
        Column("name", example="Nguyễn Thị Lan"),
        Column("phone", example="0912 345 678"),
        Column("email", example="lan@example.vn"),
        Column("legal_type", _lower, "individual"),
        Column("company_name"),
        Column("tax_id"),
        Column("birth_date", day, "15/03/1990"),
        Column("customer_since", day, "01/06/2019"),
        Column("gender", _lower, "female"),
        Column("city", example="Hà Nội"),
        Column("region"),
        Column("country", example="VN"),
        Column("income_band", _lower),
        Column("occupation"),
        Column("tags", text_list, "vip|zalo"),
        Column("interests", text_list, "váy|giày"),
        Column("lifestyle", text_list),
        Column("needs", text_list),
    ),
    ImportKind.ORDERS: (
        Column("external_id", example="DH-1001"),
        Column("customer_external_id", example="KH-0001"),
        Column("status", order_status, "paid"),
        Column("total", amount, "1.500.000"),
        Column("discount", amount, "0"),
        # With status refunded: how much was refunded in all (blank: the whole total).
        Column("refund_amount", amount, ""),
        Column("currency", example="VND"),
        Column("placed_at", _utc_moment, "31/10/2026 14:30"),
        # When the order reached its status, as the platform says (an older row never undoes a newer one).
        Column("status_changed_at", _utc_moment, "02/11/2026 09:15"),
        Column("channel", example="shopee"),
        # One row per line item; an order's other lines repeat its columns or leave them blank.
        Column("item_sku", example="VAY-01"),
        Column("item_name", example="Váy lụa"),
        Column("item_category", example="dress"),
        Column("item_quantity", _whole, "1"),
        Column("item_unit_price", amount, "1.500.000"),
        Column("item_launched_at", _utc_moment),
    ),
    ImportKind.INTERACTIONS: (
        Column("external_id", example="TT-5001"),
        Column("customer_external_id", example="KH-0001"),
        Column("kind", _lower, "call"),
        Column("at", _utc_moment, "2026-10-31 09:00"),
        Column("rating", _whole),
        Column("note", example="Hỏi giá váy cưới"),
    ),
}
# Also accepted, though not in the templates: our own customer id.
EXTRA_COLUMNS = {ImportKind.ORDERS: (Column("customer_id"),), ImportKind.INTERACTIONS: (Column("customer_id"),)}
# A customer export imports back: its columns that we compute or assign (our id, the owner, stats,
# scores, classes) are left out, the profile columns are read like the template's.
IGNORED_COLUMNS = {
    ImportKind.CUSTOMERS: frozenset(export.header()) - {column.name for column in COLUMNS[ImportKind.CUSTOMERS]}
}


# Headers as shops write them in Vietnamese and Chinese spreadsheets (compared like column_key: case,
# spacing and accents aside), for the template's column names.
_CUSTOMER_ID = ("mã khách hàng", "mã kh", "mã khách", "客户编号", "客户id", "客户代码")
HEADER_ALIASES: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.CUSTOMERS: {
        "external_id": _CUSTOMER_ID,
        "name": ("họ và tên", "họ tên", "tên khách hàng", "tên", "姓名", "客户名称", "客户姓名", "名称"),
        "phone": ("số điện thoại", "điện thoại", "sđt", "số đt", "手机", "手机号", "手机号码", "电话", "联系电话"),
        "email": ("thư điện tử", "địa chỉ email", "邮箱", "电子邮件", "电子邮箱"),
        "legal_type": ("loại khách hàng", "客户类型"),
        "company_name": ("tên công ty", "công ty", "公司", "公司名称"),
        "tax_id": ("mã số thuế", "mst", "税号", "纳税人识别号"),
        "birth_date": ("ngày sinh", "sinh nhật", "生日", "出生日期"),
        "customer_since": ("khách hàng từ", "ngày đăng ký", "ngày tham gia", "注册日期", "入会日期", "客户起始日期"),
        "gender": ("giới tính", "性别"),
        "city": ("thành phố", "tỉnh thành phố", "tỉnh thành", "城市"),
        "region": ("vùng", "khu vực", "地区", "区域"),
        "country": ("quốc gia", "国家"),
        "income_band": ("thu nhập", "收入"),
        "occupation": ("nghề nghiệp", "职业"),
        "tags": ("nhãn", "thẻ", "标签"),
        "interests": ("sở thích", "兴趣", "爱好"),
        "lifestyle": ("lối sống", "生活方式"),
        "needs": ("nhu cầu", "需求"),
    },
    ImportKind.ORDERS: {
        "external_id": ("mã đơn hàng", "mã đơn", "số đơn hàng", "订单号", "订单编号"),
        "customer_external_id": _CUSTOMER_ID,
        "status": ("trạng thái", "订单状态", "状态"),
        "total": ("tổng tiền", "thành tiền", "tổng cộng", "金额", "订单金额", "总额", "总金额"),
        "discount": ("giảm giá", "chiết khấu", "折扣", "优惠"),
        "refund_amount": ("số tiền hoàn", "số tiền hoàn trả", "tiền hoàn", "hoàn tiền", "退款金额", "退款"),
        "currency": ("tiền tệ", "đơn vị tiền", "币种", "货币"),
        "placed_at": ("ngày đặt hàng", "ngày đặt", "ngày mua", "下单时间", "下单日期", "订单日期"),
        "status_changed_at": (
            "ngày cập nhật trạng thái",
            "thời gian cập nhật",
            "ngày cập nhật",
            "cập nhật lúc",
            "状态更新时间",
            "更新时间",
        ),
        "channel": ("kênh bán", "kênh", "渠道", "销售渠道"),
        "item_sku": ("mã sản phẩm", "mã sp", "mã hàng", "商品编号", "货号", "sku"),
        "item_name": ("tên sản phẩm", "tên hàng", "商品名称", "品名"),
        "item_category": ("danh mục", "loại sản phẩm", "ngành hàng", "商品类别", "类别", "品类"),
        "item_quantity": ("số lượng", "sl", "数量"),
        "item_unit_price": ("đơn giá", "giá", "单价"),
        "item_launched_at": ("ngày ra mắt", "上市日期", "上市时间"),
    },
    ImportKind.INTERACTIONS: {
        "external_id": ("mã tương tác", "互动编号"),
        "customer_external_id": _CUSTOMER_ID,
        "kind": ("loại", "hình thức", "类型", "方式"),
        "at": ("thời gian", "ngày", "时间", "日期"),
        "rating": ("đánh giá", "评分"),
        "note": ("ghi chú", "nội dung", "备注", "内容"),
    },
}


def column_names(kind: ImportKind) -> dict[str, str]:
    """Header keys (``column_key``) to the column they name: the template's names and their aliases."""
    names = {column_key(c.name): c.name for c in (*COLUMNS[kind], *EXTRA_COLUMNS.get(kind, ()))}
    for name, aliases in HEADER_ALIASES[kind].items():
        names.update({column_key(alias): name for alias in aliases})
    return names


def template(kind: ImportKind) -> str:
    """The header and one example row, as a CSV a spreadsheet opens (UTF-8 with a byte-order mark)."""
    columns = COLUMNS[kind]
    return "\ufeff" + ",".join(c.name for c in columns) + "\n" + ",".join(_quoted(c.example) for c in columns) + "\n"


def _quoted(value: str) -> str:
    return f'"{value}"' if "," in value else value
